"""The judgement of verify_driver_runtime_management (plugins/filter/driver_runtime.py), on the nodes and
ResourceSlices recorded from the simulated lab (data/probes/): the kwok GPU nodes advertise driver
580.95.05 / CUDA 13.0 in GFD labels and 580.95.5 / 13.0.0 in DRA device attributes; the real node has
no accelerator."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from unit_fixtures import load_filter_plugin

DATA = Path(__file__).parent / "data" / "probes"
SOURCES = {
    "node_selector": "nvidia.com/gpu.present=true", "dra_driver": "gpu.nvidia.com",
    "driver_attribute": "driverVersion", "cuda_attribute": "cudaDriverVersion",
    "driver_label": "nvidia.com/cuda.driver-version.full", "cuda_label": "nvidia.com/cuda.runtime-version.full",
    "expected_driver": "", "expected_cuda": "",
}  # fmt: skip  (the role's defaults)


@pytest.fixture(scope="module")
def dr() -> ModuleType:
    return load_filter_plugin("driver_runtime")


def recorded() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return (json.loads((DATA / "lab-nodes.json").read_text()), json.loads((DATA / "lab-resourceslices.json").read_text()))


def judged(dr: ModuleType, **changes: Any) -> dict[str, dict[str, Any]]:
    nodes, slices = recorded()
    sources = {**SOURCES, **changes}
    return {c["name"]: c for c in dr.advertised_version_checks(dr.advertised_versions(nodes, slices, sources), sources)}


@pytest.mark.parametrize("a, b, same", [
    ("580.95.5", "580.95.05", True), ("13.0", "13.0.0", True), ("13", "13.0", True),
    ("575.57.08", "580.95.05", False), ("580.95.5", "580.96", False), ("", "580", False), ("v1", "1.2", True),
])  # fmt: skip
def test_versions_agree_at_their_shared_precision(dr: ModuleType, a: str, b: str, same: bool) -> None:
    assert dr.same_version(a, b) is same and dr.same_version(b, a) is same


def test_the_gpu_nodes_advertise_both_sources(dr: ModuleType) -> None:
    nodes, slices = recorded()
    seen = dr.advertised_versions(nodes, slices, SOURCES)
    assert list(seen) == ["sim-gpu-0", "sim-gpu-1"]  # harness-node has no accelerator
    assert seen["sim-gpu-0"] == {
        "dra_driver": ["580.95.5"], "dra_cuda": ["13.0.0"], "label_driver": "580.95.05", "label_cuda": "13.0",
        "container_runtime": "kwok-0.8.0", "kubelet": "kwok-0.8.0",
    }  # fmt: skip


def test_a_node_named_by_a_slice_counts_without_the_label(dr: ModuleType) -> None:
    nodes, slices = recorded()
    seen = dr.advertised_versions(nodes, slices, {**SOURCES, "node_selector": "example.com/none"})
    assert list(seen) == ["sim-gpu-0", "sim-gpu-1"] and seen["sim-gpu-1"]["label_driver"] == "580.95.05"
    assert dr.advertised_versions(nodes, [], {**SOURCES, "node_selector": "example.com/none"}) == {}


def test_prefixed_attribute_names_are_read(dr: ModuleType) -> None:
    nodes, slices = recorded()
    for s in slices:
        for d in s["spec"]["devices"]:
            d["attributes"] = {f"gpu.nvidia.com/{k}": v for k, v in d["attributes"].items()}
    assert dr.advertised_versions(nodes, slices, SOURCES)["sim-gpu-0"]["dra_driver"] == ["580.95.5"]


def test_healthy_lab_passes_and_compares_both_sources(dr: ModuleType) -> None:
    checks = judged(dr, expected_driver="580.95.05", expected_cuda="13")
    assert {n: c["status"] for n, c in checks.items()} == dict.fromkeys(checks, "pass")
    consistent = checks["DRA attributes and node labels advertise the same versions (at their shared precision)"]
    assert consistent["observed"] == ["sim-gpu-0 driver", "sim-gpu-0 cuda", "sim-gpu-1 driver", "sim-gpu-1 cuda"]
    assert checks["Every accelerator node reports its container runtime"]["observed"] == ["kwok-0.8.0"]


def test_no_expectation_no_expectation_check(dr: ModuleType) -> None:
    assert "The advertised versions are the expected ones" not in judged(dr)


def test_unexpected_driver_fails_naming_every_source(dr: ModuleType) -> None:
    check = judged(dr, expected_driver="575.57.08")["The advertised versions are the expected ones"]
    assert check["status"] == "fail"
    assert check["observed"][:2] == ["sim-gpu-0 driver 580.95.5 (expected 575.57.08)",
                                     "sim-gpu-0 driver 580.95.05 (expected 575.57.08)"]  # fmt: skip


def test_missing_metadata_fails(dr: ModuleType) -> None:
    checks = judged(dr, driver_label="example.com/none", driver_attribute="none")
    assert checks["Every accelerator node advertises its driver version"]["status"] == "fail"
    assert checks["Every accelerator node advertises its driver version"]["observed"] == "missing on sim-gpu-0, sim-gpu-1"
    assert checks["Every accelerator node advertises its CUDA version"]["status"] == "pass"


def test_sources_that_disagree_fail_the_optional_check(dr: ModuleType) -> None:
    nodes, slices = recorded()
    nodes = copy.deepcopy(nodes)
    nodes[1]["metadata"]["labels"]["nvidia.com/cuda.driver-version.full"] = "575.57.08"
    checks = {c["name"]: c for c in dr.advertised_version_checks(dr.advertised_versions(nodes, slices, SOURCES), SOURCES)}
    consistent = checks["DRA attributes and node labels advertise the same versions (at their shared precision)"]
    assert consistent["status"] == "fail" and consistent["required"] is False
    assert consistent["observed"] == [f"{nodes[1]['metadata']['name']} driver: 580.95.5 vs 575.57.08"]


def test_one_source_only_skips_the_comparison(dr: ModuleType) -> None:
    nodes, _ = recorded()
    checks = {c["name"]: c for c in dr.advertised_version_checks(dr.advertised_versions(nodes, [], SOURCES), SOURCES)}
    consistent = checks["DRA attributes and node labels advertise the same versions (at their shared precision)"]
    assert consistent["status"] == "skip" and "nothing to compare" in consistent["message"]


def test_no_accelerator_node_fails_everything_it_needs(dr: ModuleType) -> None:
    checks = dr.advertised_version_checks({}, {**SOURCES, "expected_driver": "580"})
    assert [c["status"] for c in checks] == ["fail", "fail", "fail", "skip", "fail", "fail"]


# The role's steps (harness.conformance.evidence's step:), from the registered read of Nodes and
# ResourceSlices as the role's k8s_info loop registers it.

def registered(nodes: list[dict[str, Any]], slices: list[dict[str, Any]] | None) -> dict[str, Any]:
    """What ``register:`` holds after the role's read loop (a skipped or unserved kind reads as no objects)."""
    return {"results": [
        {"item": {"kind": "Node"}, "resources": nodes, "api_found": True},
        {"item": {"kind": "ResourceSlice"}, "resources": slices or [], "api_found": slices is not None},
    ]}  # fmt: skip


STEP_SOURCES = {**SOURCES, "resource": "nvidia.com/gpu", "namespace": "harness-driver-run-1"}


def test_versions_step_on_the_lab(dr: ModuleType) -> None:
    nodes, slices = recorded()
    step = dr.driver_versions_step(registered(nodes, slices), STEP_SOURCES)
    assert step["title"] == "Accelerator nodes advertise their driver and runtime versions, consistently"
    assert step["command"] == (
        "kubectl get nodes -l nvidia.com/gpu.present=true "
        "-L nvidia.com/cuda.driver-version.full,nvidia.com/cuda.runtime-version.full "
        "-o custom-columns=NAME:.metadata.name,RUNTIME:.status.nodeInfo.containerRuntimeVersion; "
        "kubectl get resourceslices --field-selector spec.driver=gpu.nvidia.com -o yaml")
    assert step["output"] == dr.advertised_versions(nodes, slices, STEP_SOURCES)
    assert step["checks"] == dr.advertised_version_checks(step["output"], STEP_SOURCES)
    files = {f["name"]: f["data"] for f in step["files"]}
    assert [m["name"] for m in files["nodes.yaml"]] == ["sim-gpu-0", "sim-gpu-1"]  # metadata only, GPU nodes only
    assert files["resourceslices.yaml"] == slices
    # the lab's only node that runs containers has no accelerator: nothing to probe
    assert step["facts"] == {"probe_pods": [], "real_nodes": ["harness-node"], "advertised": {}}


def test_versions_step_without_the_dra_api(dr: ModuleType) -> None:
    nodes, _ = recorded()
    step = dr.driver_versions_step(registered(nodes, None), STEP_SOURCES)
    assert {f["name"]: f["data"] for f in step["files"]}["resourceslices.yaml"] == []
    checks = {c["name"]: c for c in step["checks"]}
    assert checks["DRA attributes and node labels advertise the same versions (at their shared precision)"]["status"] == "skip"


def test_versions_step_plans_a_probe_on_a_node_with_an_accelerator(dr: ModuleType) -> None:
    nodes, slices = recorded()
    nodes = copy.deepcopy(nodes)
    real = next(n for n in nodes if n["metadata"]["name"] == "harness-node")  # as if the real node had a GPU
    real["status"]["allocatable"]["nvidia.com/gpu"] = "1"
    real["metadata"]["labels"].update({"nvidia.com/gpu.present": "true", "nvidia.com/cuda.driver-version.full": "580.159.04"})
    facts = dr.driver_versions_step(registered(nodes, slices), STEP_SOURCES)["facts"]
    assert facts["probe_pods"] == [{"name": "driver", "node": "harness-node",
                                    "containers": [{"name": "probe", "limits": {"nvidia.com/gpu": 1}}]}]  # fmt: skip
    assert facts["advertised"] == {"label nvidia.com/cuda.driver-version.full": "580.159.04", "DRA attribute driverVersion": ""}


def test_probe_step_without_a_node_to_probe_needs_hardware(dr: ModuleType) -> None:
    nodes, slices = recorded()
    plan = dr.driver_versions_step(registered(nodes, slices), STEP_SOURCES)["facts"]
    step = dr.driver_probe_step({}, plan, STEP_SOURCES)
    assert step["title"] == "A pod given an accelerator sees the driver at the advertised version"
    assert step["command"] == "kubectl -n harness-driver-run-1 logs driver (probe - nvidia-smi --query-gpu=driver_version)"
    assert step["output"] == "not probed" and step["files"] == []
    (check,) = step["checks"]
    assert check["name"] == step["title"] and check["status"] == "skip" and check["needs_hardware"] and check["required"]
    assert check["message"].endswith("no node that runs containers offers an accelerator (simulated nodes run no containers).")


def test_probe_step_judges_what_the_container_saw(dr: ModuleType) -> None:
    plan = {"probe_pods": [{"name": "driver", "node": "gpu-node"}], "real_nodes": ["gpu-node"],
            "advertised": {"label nvidia.com/cuda.driver-version.full": "580.159.04", "DRA attribute driverVersion": ""}}
    facts = {"reported": True, "devices": 1, "smi_rc": 0, "smi_uuids": ["GPU-5b3a1c2e"], "driver_version": "580.159.04"}
    results = {"driver": {"phase": "Running", "node": "gpu-node", "ready": True, "why": "", "containers": {"probe": facts}}}
    step = dr.driver_probe_step(results, plan, STEP_SOURCES)
    assert step["output"] == results and step["files"] == [{"name": "probes.yaml", "data": results}]
    assert [(c["name"], c["status"]) for c in step["checks"]] == [
        ("The driver answers inside a GPU container", "pass"),
        ("The driver in the container is the one label nvidia.com/cuda.driver-version.full advertises", "pass")]
    # a pod that never reported is an error, not a pass
    assert dr.driver_probe_step({}, plan, STEP_SOURCES)["checks"][0]["status"] == "error"
