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
