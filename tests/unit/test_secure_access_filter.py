"""The judgement of verify_secure_accelerator_access (plugins/filter/secure_access.py), on the test pods,
ResourceClaims and ResourceSlices a run of the role recorded on the simulated lab (data/secure_access/,
its evidence files, 2026-12-02), healthy and then broken the ways the checks look for."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from unit_fixtures import load_filter_plugin

DATA = Path(__file__).parent / "data"
GPU = "nvidia.com/gpu"


@pytest.fixture(scope="module")
def sa() -> ModuleType:
    return load_filter_plugin("secure_access")


class Recorded:
    def __init__(self) -> None:
        self.pods: list[dict[str, Any]] = yaml.safe_load((DATA / "secure_access/pods.yaml").read_text())
        self.claims: list[dict[str, Any]] = yaml.safe_load((DATA / "secure_access/resourceclaims.yaml").read_text())
        self.slices: list[dict[str, Any]] = yaml.safe_load((DATA / "secure_access/resourceslices.yaml").read_text())
        self.nodes: list[dict[str, Any]] = json.loads((DATA / "probes/lab-nodes.json").read_text())

    def pod(self, name: str) -> dict[str, Any]:
        return next(p for p in self.pods if p["metadata"]["name"] == name)

    def claim_of(self, pod: str) -> dict[str, Any]:
        return next(c for c in self.claims if c["metadata"]["name"].startswith(f"{pod}-"))

    def dra(self, sa: ModuleType) -> dict[str, dict[str, Any]]:
        pods = {p["metadata"]["name"]: p for p in self.pods}
        running = sorted(p["metadata"]["name"] for p in self.pods if p["status"].get("phase") == "Running")
        d = sa.dra_allocations(pods, self.claims, self.slices, "uuid")
        return {c["name"]: c for c in sa.dra_isolation_checks(d, pods, running, "uuid", 120)}

    def device_plugin(self, sa: ModuleType) -> dict[str, Any]:
        pods = {p["metadata"]["name"]: p for p in self.pods}
        return sa.device_plugin_isolation(pods, sa.unit_usage(self.nodes, self.pods, GPU), GPU)


@pytest.fixture
def lab() -> Recorded:
    return Recorded()


def test_dra_allocations_of_the_healthy_run(sa: ModuleType, lab: Recorded) -> None:
    pods = {p["metadata"]["name"]: p for p in lab.pods}
    d = sa.dra_allocations(pods, lab.claims, lab.slices, "uuid")
    a = d["dra-pos-a"]
    assert a["phase"] == "Running" and a["devices"] == ["gpu.nvidia.com/sim-gpu-0/gpu-0"]
    assert len(a["identities"]) == 1 and a["identities"][0].startswith("GPU-")
    assert a["reserved_for"] == [[lab.pod("dra-pos-a")["metadata"]["uid"]]]
    assert d["dra-neg"]["claims"] == [] and d["dra-neg"]["claims_reserved_for_it"] == 0


def test_healthy_run_passes_every_check(sa: ModuleType, lab: Recorded) -> None:
    assert {n: c["status"] for n, c in lab.dra(sa).items()} == dict.fromkeys(lab.dra(sa), "pass")
    dp = lab.device_plugin(sa)
    assert [c["status"] for c in dp["checks"]] == ["pass", "pass", "pass"]
    assert dp["output"]["dp-neg"]["units"] == []


def test_two_claims_on_one_device_fail(sa: ModuleType, lab: Recorded) -> None:
    a = lab.claim_of("dra-pos-a")["status"]["allocation"]["devices"]["results"][0]
    lab.claim_of("dra-pos-b")["status"]["allocation"]["devices"]["results"][0]["device"] = a["device"]
    check = lab.dra(sa)["DRA: two pods' claims get different physical devices"]
    assert check["status"] == "fail" and "share a device" in check["message"]


def test_one_gpu_published_twice_fails_by_identity(sa: ModuleType, lab: Recorded) -> None:
    devices = lab.slices[0]["spec"]["devices"]
    devices[1]["attributes"]["uuid"] = devices[0]["attributes"]["uuid"]  # gpu-0 and gpu-1 are one GPU
    assert lab.dra(sa)["DRA: two pods' claims get different physical devices"]["status"] == "fail"


def test_a_claim_reserved_for_another_pod_fails(sa: ModuleType, lab: Recorded) -> None:
    neg = lab.pod("dra-neg")["metadata"]
    lab.claim_of("dra-pos-a")["status"]["reservedFor"].append({"resource": "pods", "name": "dra-neg", "uid": neg["uid"]})
    checks = lab.dra(sa)
    assert checks["DRA: each claim is reserved only for the pod that claims it"]["status"] == "fail"
    assert checks["DRA: a pod without a claim gets no device"]["status"] == "fail"


def test_both_containers_referencing_the_claim_fail(sa: ModuleType, lab: Recorded) -> None:
    for c in lab.pod("dra-multi")["spec"]["containers"]:
        c.setdefault("resources", {})["claims"] = [{"name": "gpu"}]
    check = lab.dra(sa)["DRA: in a two-container pod only the container that references the claim gets it"]
    assert check["status"] == "fail" and check["observed"] == {"authorized": ["gpu"], "unauthorized": ["gpu"]}


def test_pods_that_do_not_run_are_named(sa: ModuleType, lab: Recorded) -> None:
    lab.pod("dra-pos-b")["status"]["phase"] = "Pending"
    check = lab.dra(sa)["DRA: the claimed pods and the unclaimed pod run"]
    assert check["status"] == "fail" and check["message"] == "not Running after 120s: dra-pos-b"


def test_units_given_to_a_pod_without_request_fail(sa: ModuleType, lab: Recorded) -> None:
    lab.pod("dp-neg")["spec"]["containers"][0].setdefault("resources", {})["requests"] = {GPU: "9"}
    dp = lab.device_plugin(sa)
    assert [c["status"] for c in dp["checks"]] == ["pass", "fail", "fail"]
    node = lab.pod("dp-neg")["spec"]["nodeName"]
    assert dp["checks"][2]["observed"] == [f"{node}: 10 requested > 8 allocatable"]


def test_admission_findings(sa: ModuleType, lab: Recorded) -> None:
    pods = {p["metadata"]["name"]: p for p in lab.pods}
    assert sa.admission_findings(pods, GPU, "/dev/nvidia") == []
    neg = pods["dra-neg"]["spec"]
    neg["containers"][0]["securityContext"] = {"privileged": True}
    neg.setdefault("volumes", []).append({"name": "dev", "hostPath": {"path": "/dev"}})
    pods["dra-pos-a"]["spec"]["containers"][0].setdefault("resources", {}).setdefault("limits", {})[GPU] = "1"
    name = neg["containers"][0]["name"]
    assert sa.admission_findings(pods, GPU, "/dev/nvidia") == [
        f"dra-neg/{name}: privileged", "dra-neg: hostPath /dev", f"dra-pos-a/{pods['dra-pos-a']['spec']['containers'][0]['name']}: {GPU} limit on a DRA pod"]


# The judged steps (one harness.conformance.evidence call each), fed as the role's loops register
# them: k8s_info results whose items carry an id, and the probe results the role recorded
# (data/secure_access/probes.yaml, deviceclass.yaml: see data/secure_access/README.md).

SETTINGS = {"mode": "auto", "device_class": "gpu.nvidia.com", "driver": "gpu.nvidia.com", "api_version": "resource.k8s.io/v1",
            "identity_attribute": "uuid", "resource": GPU, "device_path_prefix": "/dev/nvidia", "timeout": 120,
            "namespace": "harness-sec-test"}  # fmt: skip
APIS: dict[str, Any] = {"resource.k8s.io/v1": {}, "v1": {}}


def loop(**reads: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """A k8s_info loop's results: one per read id; None is an item skipped by its condition."""
    return [{"item": {"id": k}, "skipped": True} if v is None else {"item": {"id": k}, "resources": v} for k, v in reads.items()]


def preflight(lab: Recorded, device_class: bool = True) -> list[dict[str, Any]]:
    dc = [yaml.safe_load((DATA / "secure_access/deviceclass.yaml").read_text())] if device_class else []
    return loop(deviceclass=dc, slices=lab.slices, nodes=lab.nodes)


def observed(lab: Recorded) -> list[dict[str, Any]]:
    return loop(pods=lab.pods, claims=lab.claims, all_pods=lab.pods)


def applied(*mechanisms: str) -> list[dict[str, Any]]:
    return [{"item": {"mechanism": m}, "result": {"results": [{"kind": "Pod", "mechanism": m}]}} for m in mechanisms]


def test_mechanisms_step_of_the_healthy_lab(sa: ModuleType, lab: Recorded) -> None:
    step = sa.secure_access_mechanisms_step(preflight(lab), APIS, SETTINGS)
    assert step["title"] == "How the platform hands out accelerators"
    assert step["command"].endswith("GPU:'.status.allocatable.nvidia\\.com/gpu'")
    assert [c["status"] for c in step["checks"]] == ["pass", "pass", "pass"]
    assert step["checks"][0]["observed"] == "16 DRA devices, 2 nodes with nvidia.com/gpu"
    assert step["checks"][1]["observed"] == "DeviceClass present, 16 devices" and step["checks"][1]["message"] == ""
    assert step["output"] == {"mode": "auto", "dra_served": True, "deviceclass_found": True, "dra_devices": 16,
                              "dra_nodes": ["sim-gpu-0", "sim-gpu-1"], "device_plugin_nodes": ["sim-gpu-0", "sim-gpu-1"],
                              "exercised": ["DRA", "device plugin"]}  # fmt: skip
    assert [f["name"] for f in step["files"]] == ["resourceslices.yaml", "deviceclass.yaml"]
    facts = step["facts"]
    assert facts["dra_ok"] and facts["dp_ok"] and facts["dra_served"]
    assert facts["expected_pods"] == ["dra-pos-a", "dra-pos-b", "dra-multi", "dra-neg", "dp-pos", "dp-neg"]
    # no node that runs containers has an accelerator here: the pod without a request alone, on the real node
    assert facts["real_nodes"] == ["harness-node"]
    assert facts["rounds"] == [{"mechanism": "any", "node": "harness-node", "gpus": 0,
                                "pods": [{"name": "any-none", "node": "harness-node"}]}]  # fmt: skip


def test_missing_device_class_fails_and_leaves_dra_out(sa: ModuleType, lab: Recorded) -> None:
    step = sa.secure_access_mechanisms_step(preflight(lab, device_class=False), APIS, {**SETTINGS, "device_class": "nonexistent"})
    dra = step["checks"][1]
    assert dra["name"] == "DRA: DeviceClass nonexistent exists and driver gpu.nvidia.com publishes devices"
    assert dra["status"] == "fail" and dra["observed"] == "DeviceClass absent, 16 devices"
    assert dra["message"] == "no DRA claim can be satisfied here, so isolation through DRA cannot be shown"
    assert not step["facts"]["dra_ok"] and step["facts"]["dp_ok"]
    assert step["facts"]["expected_pods"] == ["dp-pos", "dp-neg"] and step["output"]["exercised"] == ["device plugin"]


def test_dra_not_served_exercises_the_device_plugin_only(sa: ModuleType, lab: Recorded) -> None:
    step = sa.secure_access_mechanisms_step(loop(deviceclass=None, slices=None, nodes=lab.nodes), {"v1": {}}, SETTINGS)
    assert [c["name"] for c in step["checks"]] == ["Accelerators are advertised (DRA devices or a device-plugin resource)",
                                                   "Device plugin: nodes advertise allocatable nvidia.com/gpu"]  # fmt: skip
    assert step["output"]["dra_served"] is False and step["files"][0]["data"] == []
    assert not step["facts"]["dra_served"] and not step["facts"]["dra_ok"]


def test_no_accelerator_at_all_fails(sa: ModuleType, lab: Recorded) -> None:
    nodes = [n for n in lab.nodes if n["metadata"]["name"] == "harness-node"]
    step = sa.secure_access_mechanisms_step(loop(deviceclass=[], slices=[], nodes=nodes), APIS, SETTINGS)
    assert [c["status"] for c in step["checks"]] == ["fail"]
    assert step["checks"][0]["observed"] == "0 DRA devices, 0 nodes with nvidia.com/gpu"
    # a mode that names a mechanism judges it even when nothing is advertised
    forced = sa.secure_access_mechanisms_step(loop(deviceclass=[], slices=[], nodes=nodes), APIS, {**SETTINGS, "mode": "device-plugin"})
    assert [c["status"] for c in forced["checks"]] == ["pass", "fail"] and forced["checks"][1]["observed"] == []


def test_probe_step_of_the_recorded_probes(sa: ModuleType, lab: Recorded) -> None:
    probed = yaml.safe_load((DATA / "secure_access/probes.yaml").read_text())
    plan = sa.secure_access_mechanisms_step(preflight(lab), APIS, SETTINGS)["facts"]
    step = sa.secure_access_probe_step(probed, plan, SETTINGS)
    assert step["title"] == "Containers see only the accelerators allocated to them"
    assert step["command"] == "kubectl -n harness-sec-test logs <pod> -c <container> (probe: ls /dev/nvidia[0-9]*; nvidia-smi -L)"
    assert step["files"] == [{"name": "probes.yaml", "data": probed}] and step["output"] == probed
    none, hardware = step["checks"]
    assert none["status"] == "pass" and none["observed"] == "0 device node(s); nvidia-smi absent"
    assert hardware["status"] == "skip" and hardware["needs_hardware"] and hardware["required"]


def test_probe_step_catches_a_leaked_device(sa: ModuleType, lab: Recorded) -> None:
    probed = yaml.safe_load((DATA / "secure_access/probes.yaml").read_text())
    probed["any-none"]["containers"]["probe"].update(devices=1, device_names=["nvidia0"])
    plan = sa.secure_access_mechanisms_step(preflight(lab), APIS, SETTINGS)["facts"]
    leak = sa.secure_access_probe_step(probed, plan, SETTINGS)["checks"][0]
    assert leak["status"] == "fail" and leak["observed"].startswith("1 device node(s) nvidia0")


def test_not_running_names_the_pods_the_wait_is_for(sa: ModuleType, lab: Recorded) -> None:
    expected = ["dra-pos-a", "dp-pos", "dp-missing"]
    assert sa.secure_access_not_running(lab.pods, expected) == ["dp-missing"]
    lab.pod("dp-pos")["status"]["phase"] = "Pending"
    assert sa.secure_access_not_running(lab.pods, expected) == ["dp-pos", "dp-missing"]
    assert sa.secure_access_not_running(None, []) == []


def test_observed_step_saves_pods_and_claims(sa: ModuleType, lab: Recorded) -> None:
    step = sa.secure_access_observed_step(observed(lab))
    assert step == {"files": [{"name": "pods.yaml", "data": lab.pods}, {"name": "resourceclaims.yaml", "data": lab.claims}]}
    # DRA not served: the claims were not read, an empty list is saved
    assert sa.secure_access_observed_step(loop(pods=lab.pods, claims=None))["files"][1]["data"] == []


def test_dra_step_of_the_healthy_run(sa: ModuleType, lab: Recorded) -> None:
    step = sa.secure_access_dra_step(observed(lab), preflight(lab), applied("dra", "device-plugin"), SETTINGS)
    assert step["title"] == "DRA allocates each claim its own device, and only to the pod and container that claim it"
    assert step["command"] == "kubectl -n harness-sec-test get pods -o wide; kubectl -n harness-sec-test get resourceclaims -o yaml"
    assert {c["name"]: c["status"] for c in step["checks"]} == {n: "pass" for n in lab.dra(sa)}
    assert step["output"]["dra-multi"]["container_claims"] == {"authorized": ["gpu"], "unauthorized": []}
    assert list(step["output"]) == ["dra-pos-a", "dra-pos-b", "dra-multi", "dra-neg"]
    assert step["files"] == [{"name": "applied-dra.yaml", "data": {"results": [{"kind": "Pod", "mechanism": "dra"}]}}]


def test_dra_step_when_a_pod_never_ran(sa: ModuleType, lab: Recorded) -> None:
    lab.pods = [p for p in lab.pods if p["metadata"]["name"] != "dra-multi"]
    step = sa.secure_access_dra_step(observed(lab), preflight(lab), [], {**SETTINGS, "timeout": 20})
    checks = {c["name"]: c for c in step["checks"]}
    assert checks["DRA: the claimed pods and the unclaimed pod run"]["message"] == "not Running after 20s: dra-multi"
    assert step["output"]["dra-multi"]["container_claims"] == {} and step["files"][0]["data"] == {}


def test_device_plugin_step_of_the_healthy_run(sa: ModuleType, lab: Recorded) -> None:
    step = sa.secure_access_device_plugin_step(observed(lab), preflight(lab), applied("device-plugin"), SETTINGS)
    assert step["title"] == "The device plugin hands units only to pods that request them, never more than a node has"
    assert step["command"] == ("kubectl -n harness-sec-test get pods dp-pos dp-neg -o wide; "
                               "kubectl describe nodes | grep -A8 'Allocated resources'")  # fmt: skip
    assert [c["status"] for c in step["checks"]] == ["pass", "pass", "pass"]
    assert step["output"] == lab.device_plugin(sa)["output"]
    assert step["files"][0]["name"] == "applied-device-plugin.yaml" and step["files"][0]["data"]["results"]


def test_device_plugin_step_counts_every_pod_of_the_node(sa: ModuleType, lab: Recorded) -> None:
    node = lab.pod("dp-pos")["spec"]["nodeName"]
    hog = {"metadata": {"name": "hog"}, "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"requests": {GPU: "8"}}}]}}
    step = sa.secure_access_device_plugin_step(loop(pods=lab.pods, all_pods=lab.pods + [hog]), preflight(lab), [], SETTINGS)
    over = step["checks"][2]
    assert over["status"] == "fail" and over["observed"][0].startswith(f"{node}: ")


def test_admission_step(sa: ModuleType, lab: Recorded) -> None:
    step = sa.secure_access_admission_step(observed(lab), SETTINGS)
    assert step["title"] == "Admitted pods get no privileged mode and no host device nodes"
    assert step["command"] == "kubectl -n harness-sec-test get pods -o yaml"
    assert step["output"] == {"pods": sorted(p["metadata"]["name"] for p in lab.pods), "findings": []}
    (check,) = step["checks"]
    assert check == {"name": "Admitted test pods are not privileged and mount no /dev/nvidia* host path", "status": "pass",
                     "expected": "no privileged container, no hostPath under /dev/nvidia, no device-plugin limit on DRA pods",
                     "observed": []}  # fmt: skip
    lab.pod("dp-neg")["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    assert sa.secure_access_admission_step(observed(lab), SETTINGS)["checks"][0]["status"] == "fail"
    empty = sa.secure_access_admission_step(loop(pods=[]), SETTINGS)["checks"][0]
    assert empty["status"] == "fail" and empty["observed"] == "no pod was admitted"
