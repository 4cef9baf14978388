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
