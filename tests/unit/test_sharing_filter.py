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


# The role's steps (harness.conformance.evidence's step:), from what its tasks register.

STEP_SOURCES = {**SOURCES, "namespace": "harness-share-run-1"}
OVERSUBSCRIBED = "More one-unit pods than physical GPUs run on a time-sliced node"


def registered(nodes: list[Any], slices: list[Any] | None, policies: list[Any] | None = None) -> dict[str, Any]:
    """What ``register:`` holds after the role's read loop (an API the server does not serve reads as no objects)."""
    return {"results": [
        {"item": {"kind": "Node"}, "resources": nodes, "api_found": True},
        {"item": {"kind": "ResourceSlice"}, "resources": slices or [], "api_found": slices is not None},
        {"item": {"kind": "ClusterPolicy"}, "resources": policies or [], "api_found": policies is not None},
    ]}  # fmt: skip


def test_sharing_step_on_the_default_lab(sh: ModuleType) -> None:
    nodes, slices = recorded()
    step = sh.sharing_step(registered(nodes, slices), STEP_SOURCES)
    assert step["title"] == "A GPU sharing mechanism is advertised"
    assert step["command"] == (
        "kubectl get nodes -L nvidia.com/gpu.sharing-strategy,nvidia.com/gpu.replicas,nvidia.com/gpu.count,"
        "nvidia.com/mig.strategy; kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name} "
        "{.status.allocatable}{\"\\n\"}{end}'; kubectl get resourceslices -o yaml")
    assert step["output"] == {"time_slicing_or_mps": {}, "mig": {}, "dra_shared_devices": {}, "clusterpolicy": []}
    assert step["checks"] == sh.sharing_checks(sh.sharing_mechanisms(nodes, slices, SOURCES), SOURCES)
    assert step["files"] == [{"name": "nodes.yaml", "data": sh.sharing_node_summaries(nodes)},
                             {"name": "clusterpolicy.yaml", "data": []}]  # fmt: skip
    assert step["facts"] == {"probe_pods": [], "real_nodes": ["harness-node"], "oversubscribe": {}}


def test_sharing_step_plans_one_pod_more_than_gpus(sh: ModuleType) -> None:
    nodes, slices = recorded(TIME_SLICED, {"nvidia.com/gpu": "32"})
    facts = sh.sharing_step(registered(nodes, None), STEP_SOURCES)["facts"]
    assert facts["oversubscribe"] == {"node": "sim-gpu-0", "pods": 9, "resource": "nvidia.com/gpu"}
    assert facts["probe_pods"] == []  # sim-gpu-0 runs no containers
    # without a GPU count label, one GPU is assumed: two pods
    nodes, _ = recorded(TIME_SLICED)
    del next(n for n in nodes if n["metadata"]["name"] == "sim-gpu-0")["metadata"]["labels"]["nvidia.com/gpu.count"]
    assert sh.sharing_step(registered(nodes, None), STEP_SOURCES)["facts"]["oversubscribe"]["pods"] == 2


def test_sharing_step_names_the_operators_plugin_config(sh: ModuleType) -> None:
    nodes, slices = recorded()
    policies = [{"kind": "ClusterPolicy", "spec": {"devicePlugin": {"config": {"name": "time-slicing-config", "default": "any"}}}},
                {"kind": "ClusterPolicy", "spec": {}}]  # fmt: skip
    step = sh.sharing_step(registered(nodes, slices, policies), STEP_SOURCES)
    assert step["output"]["clusterpolicy"] == [{"name": "time-slicing-config", "default": "any"}, "no devicePlugin.config"]
    assert step["files"][1] == {"name": "clusterpolicy.yaml", "data": policies}


def test_sharing_probe_step_without_a_node_to_probe_needs_hardware(sh: ModuleType) -> None:
    step = sh.sharing_probe_step({}, {"probe_pods": [], "real_nodes": ["harness-node"]}, STEP_SOURCES)
    assert step["title"] == "Pods sharing a GPU run on the same physical GPU"
    assert step["command"] == "kubectl -n harness-share-run-1 logs share-a; kubectl -n harness-share-run-1 logs share-b"
    assert step["output"] == "not probed" and step["files"] == []
    (check,) = step["checks"]
    assert check["name"] == "Pods given shared units run concurrently on the same physical GPU"
    assert check["status"] == "skip" and check["needs_hardware"] and check["required"]


def test_sharing_probe_step_judges_the_probe_pods(sh: ModuleType) -> None:
    # probes.py's sharing_probe_checks (the probe pods), not this module's sharing_checks (what is advertised)
    plan = {"probe_pods": [{"name": "share-a"}, {"name": "share-b"}], "real_nodes": ["gpu-node"]}
    seen = {"reported": True, "devices": 1, "smi_rc": 0, "smi_uuids": ["GPU-5b3a1c2e"]}
    results = {p: {"phase": "Running", "node": "gpu-node", "ready": True, "why": "", "containers": {"probe": seen}}
               for p in ("share-a", "share-b")}  # fmt: skip
    step = sh.sharing_probe_step(results, plan, STEP_SOURCES)
    assert step["files"] == [{"name": "probes.yaml", "data": results}]
    assert [(c["name"], c["status"]) for c in step["checks"]] == [
        ("2 pods, one shared GPU each, run at the same time", "pass"), ("They report the same physical GPU", "pass")]


def recorded_pods() -> list[dict[str, Any]]:
    """The 9 one-unit pods of a lab run on sim-gpu-0 time-sliced 8 x 4 (data/sharing/)."""
    return json.loads((Path(__file__).parent / "data" / "sharing" / "shared-pods.json").read_text())


def test_oversubscription_step_on_the_lab(sh: ModuleType) -> None:
    pods = recorded_pods()
    plan = {"node": "sim-gpu-0", "pods": 9, "resource": "nvidia.com/gpu"}
    applied = {"changed": True, "result": {"results": [{"result": p} for p in pods]}}
    step = sh.oversubscription_step({"resources": pods}, applied, plan, STEP_SOURCES)
    assert step["title"] == OVERSUBSCRIBED and step["command"] == "kubectl -n harness-share-run-1 get pods -o wide"
    assert step["output"] == {"node": "sim-gpu-0", "resource": "nvidia.com/gpu",
                              "pods": {f"shared-{i}": "Running" for i in range(9)}}  # fmt: skip
    assert step["files"] == [{"name": "applied.yaml", "data": applied["result"]}, {"name": "pods.yaml", "data": pods}]
    assert step["checks"] == [{"name": OVERSUBSCRIBED, "status": "pass", "expected": "9 pods Running on sim-gpu-0 (8 GPUs)",
                               "observed": "9 Running", "message": ""}]  # fmt: skip


def test_oversubscription_step_names_why_a_pod_did_not_run(sh: ModuleType) -> None:
    pods = copy.deepcopy(recorded_pods())
    last = pods[-1]
    last["status"] = {"phase": "Pending", "conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/3 nodes are available: 1 Insufficient nvidia.com/gpu."}]}  # what the scheduler says of a 9th pod on 8 units
    plan = {"node": "sim-gpu-0", "pods": 9, "resource": "nvidia.com/gpu"}
    (check,) = sh.oversubscription_step({"resources": pods, "failed": True}, {}, plan, STEP_SOURCES)["checks"]
    assert check["status"] == "fail" and check["observed"] == "8 Running"
    assert check["message"] == "0/3 nodes are available: 1 Insufficient nvidia.com/gpu."
