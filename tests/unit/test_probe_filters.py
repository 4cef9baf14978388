"""The in-container probe (roles/probe/files/probe.sh) and the filters that judge what it reports.

The script runs here for real under busybox sh; a stand-in ``nvidia-smi`` on PATH (printing what the
real one printed on the GPU machine, design/gpu-machine.md) covers the GPU branch, which needs a GPU.
Pods, nodes and logs under data/probes/ were recorded from the simulated lab's real node.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from unit_fixtures import COLLECTION, load_filter_plugin

SCRIPT = COLLECTION / "roles/probe/files/probe.sh"
DATA = Path(__file__).parent / "data" / "probes"
BUSYBOX = shutil.which("busybox") or "/bin/busybox"

H200_UUID = "GPU-5b3a1c2e-0d7f-4e8a-9c61-2f4b7d9e0a13"
FAKE_SMI = f"""#!/bin/sh
case "$*" in
  -L) echo "GPU 0: NVIDIA H200 (UUID: {H200_UUID})" ;;
  *driver_version*) echo "580.159.04" ;;
  *mig.mode.current*) echo "Disabled" ;;
  *) echo "NVIDIA-SMI 580.159.04"; exit 0 ;;
esac
"""


@pytest.fixture(scope="module")
def probes() -> ModuleType:
    return load_filter_plugin("probes")


def run_probe(tmp_path: Path, smi: str | None = None) -> str:
    """Run probe.sh under busybox sh with only busybox applets (and maybe a stand-in nvidia-smi) on PATH."""
    if not Path(BUSYBOX).exists():
        pytest.skip("busybox is not installed (apt-get install busybox-static): the probe runs under busybox sh")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for applet in ("ls", "sed", "tr", "wc", "head", "cat", "uname", "touch"):
        (bindir / applet).symlink_to(BUSYBOX)
    if smi is not None:
        (bindir / "nvidia-smi").write_text(smi)
        os.chmod(bindir / "nvidia-smi", 0o755)
    proc = subprocess.run([BUSYBOX, "sh", str(SCRIPT)], capture_output=True, text=True, timeout=30,
                          env={"PATH": str(bindir)}, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def record(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def test_probe_without_gpu_reports_absence(tmp_path: Path, probes: ModuleType) -> None:
    facts = probes.parse_probe_log(run_probe(tmp_path))
    assert facts["reported"] is True
    assert facts["devices"] == 0 and facts["device_names"] == []
    assert facts["smi_rc"] == 127 and "smi_uuids" not in facts
    assert facts["kernel"] == os.uname().release


def test_probe_reads_nvidia_smi(tmp_path: Path, probes: ModuleType) -> None:
    facts = probes.parse_probe_log(run_probe(tmp_path, FAKE_SMI))
    assert facts["smi_rc"] == 0
    assert facts["smi_uuids"] == [H200_UUID]
    assert facts["smi_names"] == ["NVIDIA H200"]
    assert facts["driver_version"] == "580.159.04"
    assert facts["mig_mode"] == "Disabled"


def test_probe_with_failing_nvidia_smi(tmp_path: Path, probes: ModuleType) -> None:
    failing = "#!/bin/sh\necho \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\"\nexit 9\n"
    facts = probes.parse_probe_log(run_probe(tmp_path, failing))
    assert facts["smi_rc"] == 9 and facts["smi_uuids"] == []
    assert "driver_version" not in facts
    assert probes._sees_none(facts)


def test_a_log_cut_short_reports_nothing(probes: ModuleType) -> None:
    assert probes.parse_probe_log("RESULT devices=1\nRESULT smi_rc=0\n") == {"reported": False}
    assert probes.parse_probe_log(None) == {"reported": False}
    assert probes.parse_probe_log("RESULT devices=x\nRESULT done=1")["devices"] == -1


def test_versions_match_at_shared_precision(probes: ModuleType) -> None:
    assert probes.versions_match("580.65.6", "580.65.06")
    assert probes.versions_match("580.159.04", "580.159")
    assert not probes.versions_match("580.159.04", "580.95.05")
    assert not probes.versions_match("", "580.95.05")


def facts(devices: int = 0, uuids: tuple[str, ...] = (), rc: int | None = None, **more: Any) -> dict[str, Any]:
    """What parse_probe_log returns for a container (the shape the recorded logs give)."""
    smi_rc = rc if rc is not None else (0 if uuids else 127)
    return {"reported": True, "devices": devices, "device_names": [f"nvidia{i}" for i in range(devices)],
            "smi_rc": smi_rc, "smi_uuids": list(uuids), **more}


def pod(node: str = "gpu-node", phase: str = "Running", ready: bool = True, **containers: dict[str, Any]) -> dict[str, Any]:
    return {"phase": phase, "node": node, "ready": ready, "why": "", "runtime_class": "", "host_namespaces": [],
            "containers": containers or {"probe": facts()}}


def statuses(checks: list[dict[str, Any]]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in checks}


def test_secure_access_on_a_one_gpu_node(probes: ModuleType) -> None:
    results = {
        "dra-one": pod(probe=facts(1, ("GPU-a",))),
        "dra-none": pod(probe=facts(0, rc=9)),
        "dra-second": pod(node="", phase="Pending", ready=False),
        "dra-pair": pod(authorized=facts(1, ("GPU-a",)), unauthorized=facts(0)),
    }
    got = statuses(probes.secure_access_checks(results, "dra", "gpu-node", 1))
    assert set(got.values()) == {"pass"}, got
    assert len(got) == 4
    # The second pod got the only GPU too: a double allocation.
    results["dra-second"] = pod(probe=facts(1, ("GPU-a",)))
    got = statuses(probes.secure_access_checks(results, "dra", "gpu-node", 1))
    assert got["A second pod asking for the node's only accelerator waits while the first holds it (dra)"] == "fail"


def test_secure_access_catches_leaks_and_shared_devices(probes: ModuleType) -> None:
    results = {
        "device-plugin-one": pod(probe=facts(1, ("GPU-a",))),
        "device-plugin-none": pod(probe=facts(1, ("GPU-a",))),  # sees a GPU it never asked for
        "device-plugin-second": pod(probe=facts(1, ("GPU-a",))),  # same GPU as the first pod
        "device-plugin-pair": pod(authorized=facts(1, ("GPU-b",)), unauthorized=facts(1, ("GPU-b",))),
    }
    got = statuses(probes.secure_access_checks(results, "device-plugin", "gpu-node", 8))
    assert got == {
        "A pod without a request on gpu-node sees no accelerator (device-plugin)": "fail",
        "A pod with one accelerator through the nvidia.com/gpu resource sees exactly one (device-plugin)": "pass",
        "Two pods with one accelerator each see different devices (device-plugin)": "fail",
        "In a two-container pod only the container holding the accelerator sees it (device-plugin)": "fail",
    }


def test_a_probe_that_never_reports_is_an_error_not_a_pass(probes: ModuleType) -> None:
    results = {"any-none": pod(phase="Pending", ready=False, probe={"reported": False})}
    (check,) = probes.secure_access_checks(results, "any", "harness-node", 0)
    assert check["status"] == "error"
    assert "did not report" in check["observed"]


def test_secure_access_plan_runs_mechanisms_in_turn(probes: ModuleType) -> None:
    rounds = probes.secure_access_plan(["gpu-node"], {"gpu-node": {"device_plugin": 1, "dra": 1}}, ["dra", "device-plugin"])
    assert [(r["mechanism"], [p["name"] for p in r["pods"]]) for r in rounds] == [
        ("dra", ["dra-one", "dra-none", "dra-second"]), ("dra", ["dra-pair"]),
        ("device-plugin", ["device-plugin-one", "device-plugin-none", "device-plugin-second"]),
        ("device-plugin", ["device-plugin-pair"])]
    second = rounds[0]["pods"][2]
    assert second["expect_pending"] is True  # one GPU: the second claim must wait
    assert second["resource_claims"] == [{"name": "gpu", "resourceClaimTemplateName": "single-accelerator"}]
    assert rounds[2]["pods"][0]["containers"] == [{"name": "probe", "limits": {"nvidia.com/gpu": 1}}]
    # No accelerator on a node that runs containers: only the negative probe, on the first such node.
    assert probes.secure_access_plan(["harness-node"], {}, ["dra"]) == [
        {"mechanism": "any", "node": "harness-node", "gpus": 0, "pods": [{"name": "any-none", "node": "harness-node"}]}]
    assert probes.secure_access_plan([], {}, ["dra"]) == []


def test_verdicts_skip_what_needs_hardware(probes: ModuleType) -> None:
    rounds = probes.secure_access_plan(["harness-node"], {}, ["dra"])
    checks = probes.secure_access_verdicts({"any-none": pod(probe=facts())}, rounds, ["harness-node"])
    assert [c["status"] for c in checks] == ["pass", "skip"]
    assert checks[1]["needs_hardware"] and checks[1]["required"]
    assert "no node that runs containers offers an accelerator" in checks[1]["message"]


def test_driver_version_checks(probes: ModuleType) -> None:
    results = {"driver": pod(probe=facts(1, ("GPU-a",), driver_version="580.159.04"))}
    checks = probes.driver_version_checks(results, "driver", {"label": "580.159.04", "DRA attribute": "580.159.4"})
    assert [c["status"] for c in checks] == ["pass", "pass", "pass"]
    checks = probes.driver_version_checks(results, "driver", {"label": "580.95.05"})
    assert [c["status"] for c in checks] == ["pass", "fail"]
    checks = probes.driver_version_checks(results, "driver", {})
    assert checks[-1]["status"] == "fail" and checks[-1]["observed"] == "none advertised"
    no_driver = {"driver": pod(probe=facts(1, rc=9))}
    assert probes.driver_version_checks(no_driver, "driver", {"label": "580.159.04"})[0]["status"] == "fail"


def test_sharing_probe_checks(probes: ModuleType) -> None:
    shared = {"share-a": pod(probe=facts(1, ("GPU-a",))), "share-b": pod(probe=facts(1, ("GPU-a",)))}
    assert [c["status"] for c in probes.sharing_probe_checks(shared, ["share-a", "share-b"])] == ["pass", "pass"]
    split = {"share-a": pod(probe=facts(1, ("GPU-a",))), "share-b": pod(probe=facts(1, ("GPU-b",)))}
    assert [c["status"] for c in probes.sharing_probe_checks(split, ["share-a", "share-b"])] == ["pass", "fail"]
    waiting = {"share-a": pod(probe=facts(1, ("GPU-a",))), "share-b": pod(node="", phase="Pending", ready=False,
                                                                           probe={"reported": False})}
    assert [c["status"] for c in probes.sharing_probe_checks(waiting, ["share-a", "share-b"])] == ["fail", "error"]


def test_virtualization_checks_say_when_mig_is_disabled(probes: ModuleType) -> None:
    whole = {"virtual": pod(probe=facts(1, (H200_UUID,), smi_names=["NVIDIA H200"], mig_mode="Disabled"))}
    (check,) = probes.virtualization_checks(whole, "virtual", {})
    assert check["status"] == "fail" and "MIG mode is disabled" in check["message"]
    mig = {"virtual": pod(probe=facts(1, ("MIG-1a2b",), smi_names=["NVIDIA H200 MIG 1g.18gb"], mig_mode="Enabled"))}
    assert probes.virtualization_checks(mig, "virtual", {})[0]["status"] == "pass"


def test_claim_device_checks(probes: ModuleType) -> None:
    assert probes.claim_device_checks({"claimed": pod(probe=facts(1, ("GPU-a",)))}, "claimed")[0]["status"] == "pass"
    assert probes.claim_device_checks({"claimed": pod(probe=facts(0))}, "claimed")[0]["status"] == "fail"


def test_gpu_probe_pods_prefer_the_device_plugin(probes: ModuleType) -> None:
    gpus = {"b-node": {"device_plugin": 0, "dra": 1}, "a-node": {"device_plugin": 1, "dra": 1}}
    (dp,) = probes.gpu_probe_pods(gpus, ["driver"])
    assert dp == {"name": "driver", "node": "a-node", "containers": [{"name": "probe", "limits": {"nvidia.com/gpu": 1}}]}
    (dra,) = probes.gpu_probe_pods(gpus, ["claimed"], mechanism="dra")
    assert dra["resource_claims"][0]["resourceClaimTemplateName"] == "harness-probe-gpu"
    assert probes.gpu_probe_pods({}, ["driver"]) == []
    assert probes.sharing_probe_pods({"kwok-node": {"resource": "nvidia.com/gpu"}}, ["harness-node"]) == []


@pytest.fixture(scope="module")
def lab_results(probes: ModuleType) -> dict[str, Any]:
    """probe_results over the pods and logs recorded on the lab's real node (data/probes/README.md)."""
    result: dict[str, Any] = probes.probe_results(record("lab-pods.json"), record("lab-logs.json"))
    return result


def test_probe_results_from_the_lab(lab_results: dict[str, Any]) -> None:
    assert sorted(lab_results) == ["baseline", "pair", "sandboxed"]
    box, base = lab_results["sandboxed"], lab_results["baseline"]
    assert box["runtime_class"] == "gvisor" and base["runtime_class"] == ""
    assert box["node"] == base["node"] == "harness-node" and box["ready"] and base["ready"]
    assert box["containers"]["probe"]["kernel"].endswith("-gvisor")
    assert base["containers"]["probe"]["kernel"] != box["containers"]["probe"]["kernel"]
    assert set(lab_results["pair"]["containers"]) == {"authorized", "unauthorized"}
    assert all(c["reported"] and c["devices"] == 0 and c["smi_rc"] == 127
               for p in lab_results.values() for c in p["containers"].values())


def test_a_container_whose_log_was_not_read_reports_nothing(probes: ModuleType) -> None:
    logs = [r for r in record("lab-logs.json") if r["item"][0]["metadata"]["name"] != "sandboxed"]
    results = probes.probe_results(record("lab-pods.json"), logs)
    assert results["sandboxed"]["containers"]["probe"] == {"reported": False}
    assert results["baseline"]["containers"]["probe"]["reported"] is True


def test_nodes_that_run_containers(probes: ModuleType) -> None:
    nodes = record("lab-nodes.json")
    assert probes.container_nodes(nodes) == ["harness-node"]  # the kwok GPU nodes run none
    assert probes.accelerator_nodes(nodes, "nvidia.com/gpu", [], "gpu.nvidia.com") == {}
    assert probes.node_image(nodes, "harness.local/probe:").startswith("harness.local/probe:")
    assert probes.node_image(nodes, "nothing.local/") == ""


def test_sandbox_checks_on_the_lab(probes: ModuleType, lab_results: dict[str, Any]) -> None:
    nodes = record("lab-nodes.json")
    kernel = next(n for n in nodes if n["metadata"]["name"] == "harness-node")["status"]["nodeInfo"]["kernelVersion"]
    checks = probes.sandbox_checks(lab_results, "sandboxed", "baseline", "gvisor", ["harness-node"], kernel)
    assert [c["status"] for c in checks] == ["pass"] * 4, checks
    # A "sandbox" that is runc: the same kernel in both pods.
    fake = {**lab_results, "sandboxed": {**lab_results["baseline"], "runtime_class": "gvisor"}}
    checks = probes.sandbox_checks(fake, "sandboxed", "baseline", "gvisor", ["harness-node"], kernel)
    assert statuses(checks)["The sandboxed pod runs on its own kernel, not the node's"] == "fail"
    assert "uname -r" in checks[2]["message"]
    assert statuses(checks)["The sandboxed kernel differs from the node's kernelVersion"] == "fail"
    # Scheduled onto a kwok node: nothing can be probed there, and the check says so.
    kwok = {**lab_results, "sandboxed": {**lab_results["sandboxed"], "node": "sim-gpu-0"}}
    skipped = probes.sandbox_checks(kwok, "sandboxed", "baseline", "gvisor", ["harness-node"])[-1]
    assert skipped["status"] == "skip" and skipped["required"] and not skipped["needs_hardware"]


def test_pair_without_requests_sees_nothing(probes: ModuleType, lab_results: dict[str, Any]) -> None:
    pair = lab_results["pair"]["containers"]
    assert probes._sees_none(pair["authorized"]) and probes._sees_none(pair["unauthorized"])
    assert probes._sees(pair["authorized"]) == "0 device node(s); nvidia-smi absent"
