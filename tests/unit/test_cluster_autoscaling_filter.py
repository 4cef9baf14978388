"""The judgement of verify_cluster_autoscaling (plugins/filter/cluster_autoscaling.py), on what the role read from
the simulated lab (data/cluster_autoscaling/): its looped read (no autoscaler, two kwok GPU nodes in the pool) and
the pods and nodes of a manual run with a stand-in autoscaler that added a kwok node for the trigger pod and
removed it afterwards. The broken readings change those recordings the way a cluster would differ."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from unit_fixtures import load_filter_plugin

DATA = Path(__file__).parent / "data" / "cluster_autoscaling"
NS = "harness-ca-20261203t170000z-abc123"
SOURCES = {
    "namespace": NS, "node_pool_label": "nvidia.com/gpu.present=true", "gpu_resource": "nvidia.com/gpu",
    "deployment_regex": "(cluster-autoscaler|karpenter)", "status_configmap": "kube-system/cluster-autoscaler-status",
    "lab_record": "/state/components/cluster-autoscaler.json", "stability_window": "30", "pending_timeout": "120",
    "scale_up_timeout": "540", "scale_down_timeout": "540",
}  # fmt: skip  (the role's defaults, as vars/main.yml templates them)
PRESENT = "Cluster autoscaler present"
BASELINE = "Pool stable and filled (baseline)"
UNSCHEDULABLE = "Trigger pod Unschedulable on the full pool"
SCALE_UP = "Scale-up - trigger pod runs on a new pool node"
SCALE_DOWN = "Scale-down - pool back to its baseline size"


@pytest.fixture(scope="module")
def ca() -> ModuleType:
    return load_filter_plugin("cluster_autoscaling")


def load(name: str) -> Any:
    return json.loads((DATA / f"{name}.json").read_text())


def reads(**resources: list[Any]) -> dict[str, Any]:
    """The role's recorded looped read, with the resources of some items replaced."""
    r = load("lab-reads")
    for item in r["results"]:
        if item["item"]["key"] in resources:
            item["resources"] = resources[item["item"]["key"]]
    return r


def result(objs: list[Any]) -> dict[str, Any]:
    """A k8s_info result as the role registers it."""
    return {"changed": False, "failed": False, "api_found": True, "resources": objs}


def checks(step: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in step["checks"]}


@pytest.fixture()
def found(ca: ModuleType) -> dict[str, Any]:
    return ca.autoscaler_presence(reads(), True, SOURCES)["facts"]


# ---- A cluster autoscaler is present ---------------------------------------------------------------

def test_lab_without_autoscaler_fails(ca: ModuleType) -> None:
    step = ca.autoscaler_presence(reads(), False, SOURCES)
    check = checks(step)[PRESENT]
    assert step["title"] == "A cluster autoscaler is present"
    assert step["output"] == "nothing found"
    assert check == {"name": PRESENT, "status": "fail", "expected": "a cluster-autoscaler or Karpenter installation",
                     "observed": "none", "message": "no cluster autoscaler found"}  # fmt: skip
    assert step["command"] == ("kubectl get deployments -A | grep -E '(cluster-autoscaler|karpenter)'; "
                               "kubectl get nodepools.karpenter.sh; kubectl get configmap -n kube-system cluster-autoscaler-status")  # fmt: skip


def test_pool_as_found(ca: ModuleType) -> None:
    facts = ca.autoscaler_presence(reads(), False, SOURCES)["facts"]
    assert facts == {"found": [], "pool": ["sim-gpu-0", "sim-gpu-1"],
                     "baseline": [{"name": "sim-gpu-0", "gpus": 8}, {"name": "sim-gpu-1", "gpus": 8}],
                     "fills": [{"name": "sim-gpu-0", "gpus": 8}, {"name": "sim-gpu-1", "gpus": 8}]}  # fmt: skip


def test_cordoned_or_not_ready_nodes_are_not_the_baseline(ca: ModuleType) -> None:
    pool = copy.deepcopy(reads()["results"][3]["resources"])
    pool[0]["spec"]["unschedulable"] = True
    for c in pool[1]["status"]["conditions"]:
        if c["type"] == "Ready":
            c["status"] = "Unknown"
    facts = ca.autoscaler_presence(reads(pool=pool), False, SOURCES)["facts"]
    assert facts["pool"] == ["sim-gpu-0", "sim-gpu-1"] and facts["baseline"] == [] and facts["fills"] == []


def test_a_node_without_gpus_counts_but_is_not_filled(ca: ModuleType) -> None:
    pool = copy.deepcopy(reads()["results"][3]["resources"])
    pool[1]["status"]["allocatable"].pop("nvidia.com/gpu")
    facts = ca.autoscaler_presence(reads(pool=pool), False, SOURCES)["facts"]
    assert [n["name"] for n in facts["baseline"]] == ["sim-gpu-0", "sim-gpu-1"]
    assert facts["fills"] == [{"name": "sim-gpu-0", "gpus": 8}]


@pytest.mark.parametrize(("kwargs", "record", "expected"), [
    ({"deployments": [{"metadata": {"name": "cluster-autoscaler", "namespace": "kube-system"}},
                      {"metadata": {"name": "coredns", "namespace": "kube-system"}}]},
     False, ["Deployment kube-system/cluster-autoscaler"]),
    ({"nodepools": [{"metadata": {"name": "gpu"}}]}, False, ["Karpenter NodePool gpu"]),
    ({"status_configmap": [{"metadata": {"name": "cluster-autoscaler-status", "namespace": "kube-system"}}]},
     False, ["ConfigMap kube-system/cluster-autoscaler-status"]),
    ({}, True, ["lab component /state/components/cluster-autoscaler.json"]),
])  # fmt: skip  (the lab runs no autoscaler: these objects are the least the role reads of one)
def test_each_kind_of_autoscaler_is_found(ca: ModuleType, kwargs: dict[str, Any], record: bool, expected: list[str]) -> None:
    step = ca.autoscaler_presence(reads(**kwargs), record, SOURCES)
    assert step["facts"]["found"] == step["output"] == expected
    assert checks(step)[PRESENT] == {"name": PRESENT, "status": "pass", "expected": "a cluster-autoscaler or Karpenter installation",
                                         "observed": ", ".join(expected), "message": ""}  # fmt: skip


def test_karpenter_crd_missing_is_none(ca: ModuleType) -> None:
    nodepools = next(r for r in load("lab-reads")["results"] if r["item"]["key"] == "nodepools")
    assert "Failed to find API" in nodepools["msg"] and not nodepools["failed"]
    assert ca.autoscaler_presence(reads(), False, SOURCES)["facts"]["found"] == []


# ---- The accelerator pool is stable and every node's GPUs are taken ---------------------------------

def created(pods: list[Any], skipped: bool = False) -> dict[str, Any]:
    """The looped k8s apply's result: the namespace, then the baseline pods (items as applied)."""
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
    items = [ns] + [{k: p[k] for k in ("apiVersion", "kind", "metadata", "spec")} for p in pods]
    return {"results": [{"item": i, "skipped": skipped} for i in items], **({"skipped": True} if skipped else {})}


def test_filled_stable_pool(ca: ModuleType, found: dict[str, Any]) -> None:
    pods, trigger = load("baseline-pods"), load("trigger-unschedulable")
    step = ca.autoscaling_baseline_step(result(pods), found, result(load("pool-before")), created(pods), trigger, SOURCES)
    assert checks(step)[BASELINE] == {
        "name": BASELINE, "status": "pass",
        "expected": "the pool's 2 node(s) unchanged for 30s, one baseline pod running per node",
        "observed": "stable=True, 2 of 2 baseline pods running", "message": ""}  # fmt: skip
    assert step["output"] == {"baseline_nodes": found["baseline"], "stable": True, "baseline_pods_running": ["baseline-1", "baseline-2"]}
    assert step["files"][0]["name"] == "pods-applied.yaml"
    assert [p["metadata"]["name"] for p in step["files"][0]["data"]] == ["baseline-1", "baseline-2", "autoscaler-trigger"]
    assert step["facts"] == {"full": True, "trigger": trigger}


def test_pool_that_changed_is_an_error(ca: ModuleType, found: dict[str, Any]) -> None:
    pods = load("baseline-pods")
    step = ca.autoscaling_baseline_step({"skipped": True}, found, result(load("pool-scaled-up")),
                                        created(pods, skipped=True), {}, SOURCES)  # fmt: skip
    check = checks(step)[BASELINE]
    assert check["status"] == "error" and check["observed"] == "stable=False, 0 of 2 baseline pods running"
    assert check["message"] == "the pool is changing or not idle; the test needs an idle pool"
    assert step["facts"]["full"] is False


def test_baseline_pod_that_does_not_run_is_an_error(ca: ModuleType, found: dict[str, Any]) -> None:
    pods = load("baseline-pods")
    stuck = copy.deepcopy(pods)
    stuck[1]["status"]["phase"] = "Pending"
    step = ca.autoscaling_baseline_step(result(stuck), found, result(load("pool-before")), created(pods), {}, SOURCES)
    assert checks(step)[BASELINE]["status"] == "error"
    assert checks(step)[BASELINE]["observed"] == "stable=True, 1 of 2 baseline pods running"


# ---- A pod that fits nowhere makes the pool grow ------------------------------------------------------

def test_scale_up_to_a_new_node(ca: ModuleType, found: dict[str, Any]) -> None:
    pending, up = result([load("trigger-unschedulable")]), result([load("trigger-running")])
    assert ca.autoscaling_trigger_settled(pending) and ca.autoscaling_trigger_unschedulable(pending)
    assert ca.autoscaling_trigger_on_new_node(up, ["sim-gpu-0", "sim-gpu-1"])
    assert not ca.autoscaling_trigger_on_new_node(up, (n["name"] for n in found["baseline"] + [{"name": "sim-gpu-ca"}]))  # Jinja's map
    step = ca.autoscaling_scale_up_step(up, pending, result(load("pool-scaled-up")), found, SOURCES)
    c = checks(step)
    assert c[UNSCHEDULABLE] == {"name": UNSCHEDULABLE, "status": "pass", "expected": "PodScheduled=False reason Unschedulable within 120s",
                                "observed": "Unschedulable", "message": ""}  # fmt: skip
    assert c[SCALE_UP] == {"name": SCALE_UP, "status": "pass",
                           "expected": "pool 2 -> 3 nodes, trigger Running on a new node within 540s",
                           "observed": "pool 3 nodes, trigger Running on sim-gpu-ca"}  # fmt: skip
    assert step["output"]["trigger_node"] == "sim-gpu-ca"
    assert step["output"]["pool_nodes"] == ["sim-gpu-0", "sim-gpu-1", "sim-gpu-ca"]
    assert step["output"]["pending_conditions"][0]["reason"] == "Unschedulable"
    assert step["command"] == f"kubectl get pod -n {NS} autoscaler-trigger -o wide; kubectl get nodes -l nvidia.com/gpu.present=true"
    assert step["facts"] == {"unschedulable": True}


def test_trigger_placed_on_the_full_pool_is_an_error(ca: ModuleType, found: dict[str, Any]) -> None:
    placed = load("trigger-running")
    placed["spec"]["nodeName"] = "sim-gpu-0"
    placed["status"]["conditions"] = [c for c in placed["status"]["conditions"] if c["type"] != "PodScheduled"] + [
        {"type": "PodScheduled", "status": "True"}]  # fmt: skip
    pending = result([placed])
    assert ca.autoscaling_trigger_settled(pending) and not ca.autoscaling_trigger_unschedulable(pending)
    step = ca.autoscaling_scale_up_step({"skipped": True}, pending, result(load("pool-before")), found, SOURCES)
    c = checks(step)
    assert c[UNSCHEDULABLE]["status"] == "error" and c[UNSCHEDULABLE]["observed"] == "scheduled on sim-gpu-0"
    assert c[UNSCHEDULABLE]["message"] == "the pool had room, so no scale-up could be triggered"
    assert c[SCALE_UP]["status"] == "skip" and c[SCALE_UP]["observed"] == "pool 2 nodes, trigger Pending on no node"
    assert step["facts"] == {"unschedulable": False}


def test_trigger_never_decided_is_an_error(ca: ModuleType, found: dict[str, Any]) -> None:
    undecided = load("trigger-unschedulable")
    undecided["status"]["conditions"] = []
    pending = result([undecided])
    assert not ca.autoscaling_trigger_settled(pending)
    c = checks(ca.autoscaling_scale_up_step({"skipped": True}, pending, result(load("pool-before")), found, SOURCES))
    assert c[UNSCHEDULABLE]["status"] == "error" and c[UNSCHEDULABLE]["observed"] == "scheduled on no node, no reason"


def test_no_new_node_fails(ca: ModuleType, found: dict[str, Any]) -> None:
    pending = result([load("trigger-unschedulable")])
    assert not ca.autoscaling_trigger_on_new_node(pending, ["sim-gpu-0", "sim-gpu-1"])
    c = checks(ca.autoscaling_scale_up_step(pending, pending, result(load("pool-before")), found, SOURCES))
    assert c[UNSCHEDULABLE]["status"] == "pass"
    assert c[SCALE_UP]["status"] == "fail" and c[SCALE_UP]["observed"] == "pool 2 nodes, trigger Pending on no node"


def test_trigger_on_an_old_node_fails(ca: ModuleType, found: dict[str, Any]) -> None:
    """A pool node freed meanwhile (not a scale-up) takes the trigger: the pool did not grow."""
    moved = load("trigger-running")
    moved["spec"]["nodeName"] = "sim-gpu-1"
    up = result([moved])
    assert not ca.autoscaling_trigger_on_new_node(up, ["sim-gpu-0", "sim-gpu-1"])
    c = checks(ca.autoscaling_scale_up_step(up, result([load("trigger-unschedulable")]), result(load("pool-before")),
                                            found, SOURCES))  # fmt: skip
    assert c[SCALE_UP]["status"] == "fail" and c[SCALE_UP]["observed"] == "pool 2 nodes, trigger Running on sim-gpu-1"


# ---- With the pods gone the pool shrinks back -----------------------------------------------------------

def test_pool_shrinks_back(ca: ModuleType, found: dict[str, Any]) -> None:
    step = ca.autoscaling_scale_down_step(result(load("pool-scaled-down")), found, True, SOURCES)
    assert step["output"] == ["sim-gpu-0", "sim-gpu-1"]
    assert checks(step)[SCALE_DOWN] == {"name": SCALE_DOWN, "status": "pass", "expected": "2 nodes within 540s",
                                        "observed": "2 nodes"}  # fmt: skip
    assert step["command"] == "kubectl get nodes -l nvidia.com/gpu.present=true"


def test_pool_that_stays_large_fails(ca: ModuleType, found: dict[str, Any]) -> None:
    c = checks(ca.autoscaling_scale_down_step(result(load("pool-scaled-up")), found, True, SOURCES))[SCALE_DOWN]
    assert c["status"] == "fail" and c["observed"] == "3 nodes"


def test_no_scale_up_no_scale_down(ca: ModuleType, found: dict[str, Any]) -> None:
    c = checks(ca.autoscaling_scale_down_step({"skipped": True}, found, False, SOURCES))[SCALE_DOWN]
    assert c["status"] == "skip" and c["observed"] == "0 nodes"


# ---- the conditions the waits poll ----------------------------------------------------------------------

def test_pool_unchanged(ca: ModuleType, found: dict[str, Any]) -> None:
    assert ca.autoscaling_pool_unchanged(result(load("pool-before")), found["pool"])
    assert not ca.autoscaling_pool_unchanged(result(load("pool-scaled-up")), found["pool"])
    assert ca.autoscaling_running_pods({"skipped": True}) == []


def test_registered_filters(ca: ModuleType) -> None:
    names = set(ca.FilterModule().filters())
    assert {"autoscaler_presence", "autoscaling_baseline_step", "autoscaling_scale_up_step",
            "autoscaling_scale_down_step"} <= names  # fmt: skip
