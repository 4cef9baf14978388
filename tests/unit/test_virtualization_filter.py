"""The judgement of verify_virtualized_accelerator (plugins/filter/virtualization.py), on the nodes and
ResourceSlices recorded from the simulated lab (data/probes/), changed as the lab tests change the live
objects: a vGPU node by GFD labels, vGPU devices by the DRA brand attribute."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from unit_fixtures import load_filter_plugin

DATA = Path(__file__).parent / "data" / "probes"
SOURCES = {
    "present_label": "nvidia.com/vgpu.present", "host_driver_label": "nvidia.com/vgpu.host-driver-version",
    "product_label": "nvidia.com/gpu.product", "resource": "nvidia.com/gpu", "dra_driver": "gpu.nvidia.com",
    "brand_attribute": "brand", "brand_pattern": "^Nvidia(VCS|VPC|VWS|VApps|VGaming|CloudGaming)$",
}  # fmt: skip  (the role's defaults)
VGPU = {"nvidia.com/vgpu.present": "true", "nvidia.com/vgpu.host-driver-version": "580.82.07"}
ADVERTISED = "Virtual GPUs are advertised (vGPU node labels or DRA devices of a vGPU brand)"
HOST_DRIVER = "vGPU nodes report the host vGPU driver version"
POD = "A pod on a vGPU node gets a virtual GPU and runs"


@pytest.fixture(scope="module")
def vg() -> ModuleType:
    return load_filter_plugin("virtualization")


def recorded(labels: dict[str, str] | None = None, alloc: dict[str, str] | None = None,
             brand: str = "", key: str = "brand") -> tuple[list[Any], list[Any]]:  # fmt: skip
    """The lab's nodes (sim-gpu-0 changed by labels/alloc) and ResourceSlices (its first two devices of brand)."""
    nodes = json.loads((DATA / "lab-nodes.json").read_text())
    gpu0 = next(n for n in nodes if n["metadata"]["name"] == "sim-gpu-0")
    gpu0["metadata"]["labels"].update(labels or {})
    gpu0["status"]["allocatable"].update(alloc or {})
    slices = json.loads((DATA / "lab-resourceslices.json").read_text())
    if brand:
        for d in slices[0]["spec"]["devices"][:2]:
            d["attributes"][key] = {"string": brand}
    return nodes, slices


def judge(vg: ModuleType, nodes: list[Any], slices: list[Any]) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    found = vg.virtual_gpus(nodes, slices, SOURCES)
    target = vg.virtual_gpu_target(found)
    return found, target, {c["name"]: c for c in vg.virtual_gpu_checks(found, target, SOURCES)}


def test_lab_without_vgpu_fails(vg: ModuleType) -> None:
    found, target, checks = judge(vg, *recorded())
    assert found == {"labelled": {}, "dra": {}} and target == {}
    assert list(checks) == [ADVERTISED] and checks[ADVERTISED]["status"] == "fail"


def test_labelled_vgpu_node_is_the_target(vg: ModuleType) -> None:
    found, target, checks = judge(vg, *recorded(VGPU))
    assert found["labelled"] == {"sim-gpu-0": {"host_driver": "580.82.07", "product": "NVIDIA-H100-80GB-HBM3", "allocatable": 8}}
    assert target == {"mechanism": "device-plugin", "node": "sim-gpu-0"}
    assert checks[ADVERTISED]["status"] == checks[HOST_DRIVER]["status"] == "pass" and POD not in checks
    assert checks[HOST_DRIVER]["observed"] == ["580.82.07"]


def test_vgpu_node_without_host_driver_fails(vg: ModuleType) -> None:
    _, _, checks = judge(vg, *recorded({"nvidia.com/vgpu.present": "True"}))
    assert checks[HOST_DRIVER]["status"] == "fail" and checks[HOST_DRIVER]["observed"] == "missing on sim-gpu-0"


def test_vgpu_node_with_no_unit_to_give_fails_the_pod_check(vg: ModuleType) -> None:
    _, target, checks = judge(vg, *recorded(VGPU, {"nvidia.com/gpu": "0"}))
    assert target == {} and checks[POD]["status"] == "fail"


@pytest.mark.parametrize("key", ["brand", "gpu.nvidia.com/brand"])
def test_dra_vgpu_devices_are_found_and_claimed(vg: ModuleType, key: str) -> None:
    found, target, checks = judge(vg, *recorded(brand="NvidiaVWS", key=key))
    pool = "sim-gpu-0"
    assert found["dra"] == {"sim-gpu-0": [f"{pool}/gpu-0 (NvidiaVWS)", f"{pool}/gpu-1 (NvidiaVWS)"]}
    assert target == {"mechanism": "dra", "node": "sim-gpu-0"} and checks[ADVERTISED]["status"] == "pass"


def test_a_physical_gpu_brand_is_not_a_vgpu(vg: ModuleType) -> None:
    found, _, _ = judge(vg, *recorded(brand="Nvidia"))
    assert found["dra"] == {}


# The role's steps (harness.conformance.evidence's step:), from what its tasks register.

STEP_SOURCES = {**SOURCES, "namespace": "harness-vgpu-run-1"}
RECORDED = Path(__file__).parent / "data" / "virtualization"


def registered(nodes: list[Any], slices: list[Any] | None) -> dict[str, Any]:
    """What ``register:`` holds after the role's read loop (an API the server does not serve reads as no objects)."""
    return {"results": [
        {"item": {"kind": "Node"}, "resources": nodes, "api_found": True},
        {"item": {"kind": "ResourceSlice"}, "resources": slices or [], "api_found": slices is not None},
    ]}  # fmt: skip


def test_gpus_step_on_the_default_lab(vg: ModuleType) -> None:
    nodes, slices = recorded()
    step = vg.virtual_gpus_step(registered(nodes, slices), STEP_SOURCES)
    assert step["title"] == "Virtual GPUs are advertised"
    assert step["command"] == (
        "kubectl get nodes -L nvidia.com/vgpu.present,nvidia.com/vgpu.host-driver-version,nvidia.com/gpu.product; "
        "kubectl get resourceslices --field-selector spec.driver=gpu.nvidia.com -o yaml")
    assert step["output"] == {"labelled_nodes": {}, "dra_vgpu_devices": {}, "test_pod": "no node to run it on"}
    assert step["files"] == [{"name": "resourceslices.yaml", "data": slices}]
    assert [c["name"] for c in step["checks"]] == [ADVERTISED]
    assert step["facts"] == {"target": {}, "probe_pods": [], "real_nodes": ["harness-node"]}


def test_gpus_step_targets_a_labelled_node(vg: ModuleType) -> None:
    nodes, slices = recorded(VGPU)
    step = vg.virtual_gpus_step(registered(nodes, slices), STEP_SOURCES)
    assert step["facts"]["target"] == {"mechanism": "device-plugin", "node": "sim-gpu-0"}
    assert step["output"]["test_pod"] == step["facts"]["target"]
    assert step["output"]["labelled_nodes"] == {
        "sim-gpu-0": {"host_driver": "580.82.07", "product": "NVIDIA-H100-80GB-HBM3", "allocatable": 8}}
    assert {c["name"]: c["status"] for c in step["checks"]} == {ADVERTISED: "pass", HOST_DRIVER: "pass"}


def test_gpus_step_without_the_dra_api(vg: ModuleType) -> None:
    nodes, _ = recorded()
    step = vg.virtual_gpus_step(registered(nodes, None), {**STEP_SOURCES, "brand_pattern": "^Nvidia$"})
    assert step["files"] == [{"name": "resourceslices.yaml", "data": []}] and step["facts"]["target"] == {}


def test_probe_step_without_a_node_to_probe_needs_hardware(vg: ModuleType) -> None:
    step = vg.virtual_probe_step({}, {"probe_pods": [], "real_nodes": ["harness-node"]}, STEP_SOURCES)
    assert step["title"] == "The pod's accelerator is a virtual GPU"
    assert step["command"] == "kubectl -n harness-vgpu-run-1 logs virtual (probe - nvidia-smi -L)"
    assert step["output"] == "not probed" and step["files"] == []
    (check,) = step["checks"]
    assert check["name"] == step["title"] and check["status"] == "skip" and check["needs_hardware"]


def test_probe_step_says_mig_is_disabled(vg: ModuleType) -> None:
    seen = {"reported": True, "devices": 1, "smi_rc": 0, "smi_uuids": ["GPU-5b3a1c2e"], "smi_names": ["NVIDIA H200"],
            "mig_mode": "Disabled"}  # fmt: skip
    results = {"virtual": {"phase": "Running", "node": "gpu-node", "ready": True, "why": "", "containers": {"probe": seen}}}
    step = vg.virtual_probe_step(results, {"probe_pods": [{"name": "virtual"}]}, STEP_SOURCES)
    (check,) = step["checks"]
    assert check["status"] == "fail" and "MIG mode is disabled" in check["message"]
    assert step["files"] == [{"name": "probes.yaml", "data": results}]


def pod_reads(name: str, claims: list[Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The role's registered wait-and-read loop over a recorded pod (and its claims; None: not read), and the apply's result."""
    data = json.loads((RECORDED / name).read_text())
    reads = {"results": [
        {"item": {"kind": "Pod"}, "resources": [data["pod"]]},
        {"item": {"kind": "ResourceClaim"}, "resources": claims or []} if claims is not None
        else {"item": {"kind": "ResourceClaim"}, "skipped": True},
    ]}  # fmt: skip
    return reads, {"changed": True, "result": data["applied"]}


def test_pod_step_on_a_labelled_node(vg: ModuleType) -> None:
    reads, applied = pod_reads("vgpu-pod-device-plugin.json", None)
    step = vg.virtual_pod_step(reads, applied, {"mechanism": "device-plugin", "node": "sim-gpu-1"}, STEP_SOURCES)
    assert step["title"] == POD
    assert step["command"] == "kubectl -n harness-vgpu-run-1 get pod vgpu-pod -o wide; kubectl -n harness-vgpu-run-1 get resourceclaims"
    assert step["output"] == {"mechanism": "device-plugin", "phase": "Running", "node": "sim-gpu-1", "allocated": []}
    assert [f["name"] for f in step["files"]] == ["applied.yaml", "pod.yaml", "resourceclaims.yaml"]
    assert step["checks"] == [{"name": POD, "status": "pass", "expected": "Running on sim-gpu-1 with one nvidia.com/gpu",
                               "observed": "Running on sim-gpu-1"}]  # fmt: skip
    # on another node than the target: a fail
    (check,) = vg.virtual_pod_step(reads, applied, {"mechanism": "device-plugin", "node": "sim-gpu-0"}, STEP_SOURCES)["checks"]
    assert check["status"] == "fail"


def test_pod_step_through_dra_needs_an_allocated_device(vg: ModuleType) -> None:
    data = json.loads((RECORDED / "vgpu-pod-dra.json").read_text())
    reads, applied = pod_reads("vgpu-pod-dra.json", data["claims"])
    target = {"mechanism": "dra", "node": data["pod"]["spec"]["nodeName"]}
    (check,) = vg.virtual_pod_step(reads, applied, target, STEP_SOURCES)["checks"]
    assert check["status"] == "pass" and check["expected"] == f"Running on {target['node']} with one vGPU device claimed"
    assert check["observed"].startswith(f"Running on {target['node']}, devices gpu-")
    # a claim never allocated: the pod cannot have its device
    unallocated = [{**c, "status": {}} for c in data["claims"]]
    reads, _ = pod_reads("vgpu-pod-dra.json", unallocated)
    (check,) = vg.virtual_pod_step(reads, applied, target, STEP_SOURCES)["checks"]
    assert check["status"] == "fail" and check["observed"] == f"Running on {target['node']}, devices "


def test_pod_step_without_a_pod(vg: ModuleType) -> None:
    reads = {"results": [{"item": {"kind": "Pod"}, "resources": [], "failed": True}]}
    (check,) = vg.virtual_pod_step(reads, {}, {"mechanism": "device-plugin", "node": "sim-gpu-1"}, STEP_SOURCES)["checks"]
    assert check["status"] == "fail" and check["observed"] == "(no pod) on (unscheduled)"
