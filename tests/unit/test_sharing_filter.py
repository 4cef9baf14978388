"""The judgement of verify_gpu_sharing (plugins/filter/sharing.py), on the nodes and ResourceSlices recorded
from the simulated lab (data/probes/), changed the way the lab tests change the live nodes: the default lab
advertises no sharing; a time-sliced node has strategy and replicas labels and GPUs x replicas allocatable."""

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
    "resource": "nvidia.com/gpu", "strategy_label": "nvidia.com/gpu.sharing-strategy",
    "strategies": ["time-slicing", "mps"], "replicas_label": "nvidia.com/gpu.replicas",
    "count_label": "nvidia.com/gpu.count", "mig_resource_pattern": r"^nvidia\.com/mig-",
    "mig_strategy_label": "nvidia.com/mig.strategy", "product_label": "nvidia.com/gpu.product",
    "dra_shared_types": ["mig"],
}  # fmt: skip  (the role's defaults)
TIME_SLICED = {"nvidia.com/gpu.sharing-strategy": "time-slicing", "nvidia.com/gpu.replicas": "4"}
ADVERTISED = "A GPU sharing mechanism is advertised (time-slicing/MPS replicas, MIG, or shareable DRA devices)"
ARITHMETIC = "Time-sliced nodes advertise GPUs x replicas shared units"


@pytest.fixture(scope="module")
def sh() -> ModuleType:
    return load_filter_plugin("sharing")


def recorded(labels: dict[str, str] | None = None, alloc: dict[str, str] | None = None) -> tuple[list[Any], list[Any]]:
    """The lab's nodes (sim-gpu-0 changed by labels/alloc) and ResourceSlices."""
    nodes = json.loads((DATA / "lab-nodes.json").read_text())
    gpu0 = next(n for n in nodes if n["metadata"]["name"] == "sim-gpu-0")
    gpu0["metadata"]["labels"].update(labels or {})
    gpu0["status"]["allocatable"].update(alloc or {})
    return nodes, json.loads((DATA / "lab-resourceslices.json").read_text())


def judge(sh: ModuleType, nodes: list[Any], slices: list[Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    found = sh.sharing_mechanisms(nodes, slices, SOURCES)
    return found, {c["name"]: c for c in sh.sharing_checks(found, SOURCES)}


def test_default_lab_advertises_no_sharing(sh: ModuleType) -> None:
    found, checks = judge(sh, *recorded())
    assert found == {"replicas": {}, "mig": {}, "dra": {}}
    assert checks[ADVERTISED]["status"] == "fail" and checks[ADVERTISED]["message"] == "no sharing mechanism found"
    assert ARITHMETIC not in checks


@pytest.mark.parametrize("resource", ["nvidia.com/gpu", "nvidia.com/gpu.shared"])
def test_time_sliced_node_adds_up(sh: ModuleType, resource: str) -> None:
    found, checks = judge(sh, *recorded(TIME_SLICED, {resource: "32"}))
    assert found["replicas"] == {"sim-gpu-0": {"strategy": "time-slicing", "replicas": 4, "gpus": "8",
                                               "resource": resource, "allocatable": 32}}  # fmt: skip
    assert checks[ADVERTISED]["status"] == checks[ARITHMETIC]["status"] == "pass"
    assert checks[ARITHMETIC]["observed"] == [f"sim-gpu-0: 8 GPUs x 4 = 32 {resource}"]


def test_labels_without_replicated_allocatable_fail(sh: ModuleType) -> None:
    _, checks = judge(sh, *recorded(TIME_SLICED))  # still 8 nvidia.com/gpu
    assert checks[ARITHMETIC]["status"] == "fail"
    assert checks[ARITHMETIC]["observed"] == ["sim-gpu-0: 8 nvidia.com/gpu, expected 8 x 4"]


def test_unknown_gpu_count_is_an_error_not_a_pass(sh: ModuleType) -> None:
    _, checks = judge(sh, *recorded({**TIME_SLICED, "nvidia.com/gpu.count": ""}, {"nvidia.com/gpu": "32"}))
    assert checks[ARITHMETIC]["status"] == "error" and "physical GPU count is unknown" in checks[ARITHMETIC]["message"]


@pytest.mark.parametrize("labels", [{"nvidia.com/gpu.sharing-strategy": "none", "nvidia.com/gpu.replicas": "4"},
                                    {"nvidia.com/gpu.sharing-strategy": "mps", "nvidia.com/gpu.replicas": "1"},
                                    {"nvidia.com/gpu.sharing-strategy": "mps", "nvidia.com/gpu.replicas": "many"}])  # fmt: skip
def test_no_replicas_no_time_slicing(sh: ModuleType, labels: dict[str, str]) -> None:
    found, _ = judge(sh, *recorded(labels, {"nvidia.com/gpu": "32"}))
    assert found["replicas"] == {}


def test_mig_resources_and_the_single_strategy(sh: ModuleType) -> None:
    found, checks = judge(sh, *recorded(None, {"nvidia.com/mig-1g.10gb": "7", "nvidia.com/mig-2g.20gb": "0"}))
    assert found["mig"] == {"sim-gpu-0": {"nvidia.com/mig-1g.10gb": 7}} and checks[ADVERTISED]["status"] == "pass"
    found, _ = judge(sh, *recorded({"nvidia.com/mig.strategy": "single", "nvidia.com/gpu.product": "NVIDIA-H100-MIG-1g.10gb"}))
    assert found["mig"] == {"sim-gpu-0": {"nvidia.com/gpu (MIG single: NVIDIA-H100-MIG-1g.10gb)": 8}}


def test_shareable_dra_devices(sh: ModuleType) -> None:
    nodes, slices = recorded()
    devices = slices[0]["spec"]["devices"]
    devices[0]["allowMultipleAllocations"] = True
    devices[1]["consumesCounters"] = [{"counterSet": "gpu-1-counters"}]
    devices[2]["attributes"]["type"] = {"string": "mig"}
    found, checks = judge(sh, nodes, slices)
    pool = f"gpu.nvidia.com/{slices[0]['spec']['pool']['name']}"
    assert found["dra"] == {pool: ["gpu-0 (allowMultipleAllocations)", "gpu-1 (partition of shared counters)", "gpu-2 (type mig)"]}
    assert checks[ADVERTISED]["observed"]["DRA"] == [pool]


def test_node_summaries_keep_name_labels_and_allocatable(sh: ModuleType) -> None:
    nodes, _ = recorded()
    summary = sh.sharing_node_summaries(copy.deepcopy(nodes))
    assert [s["name"] for s in summary] == ["harness-node", "sim-gpu-0", "sim-gpu-1"]
    assert set(summary[1]) == {"name", "labels", "allocatable"} and summary[1]["allocatable"]["nvidia.com/gpu"] == "8"
