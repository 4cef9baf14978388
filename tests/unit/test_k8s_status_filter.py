"""The Kubernetes status-condition filters verify roles use (harness.conformance.condition & co.)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from unit_fixtures import load_filter_plugin


GATEWAY: dict[str, Any] = {"status": {"conditions": [
    {"type": "Accepted", "status": "True", "reason": "Accepted"},
    {"type": "Programmed", "status": "False", "reason": "Pending", "message": "no address"}]}}
ROUTE: dict[str, Any] = {"status": {"parents": [
    {"parentRef": {"name": "other"}, "conditions": [{"type": "Accepted", "status": "False", "reason": "NotAllowed"}]},
    {"parentRef": {"name": "gw"}, "conditions": [
        {"type": "Accepted", "status": "True", "reason": "Accepted"},
        {"type": "ResolvedRefs", "status": "False", "reason": "InvalidKind", "message": "unsupported"}]}]}}


@pytest.fixture(scope="module")
def plugin() -> ModuleType:
    return load_filter_plugin("k8s_status")


def test_condition_reads_one_status_and_tolerates_missing_objects(plugin: ModuleType) -> None:
    assert plugin.condition(GATEWAY, "Programmed") == "False"
    assert plugin.condition(GATEWAY, "Ready") == ""
    assert plugin.condition({}, "Accepted") == "" and plugin.condition(None, "Accepted") == ""


def test_with_condition_keeps_only_matching_objects(plugin: ModuleType) -> None:
    objs = [GATEWAY, {"metadata": {"name": "bare"}}]
    assert plugin.with_condition(objs, "Accepted") == [GATEWAY]
    assert plugin.with_condition(objs, "Programmed", "False") == [GATEWAY]
    assert plugin.with_condition(objs, "Programmed") == []


def test_parent_conditions_pick_the_named_parent(plugin: ModuleType) -> None:
    assert plugin.parent_conditions(ROUTE, "gw") == {"Accepted": "True", "ResolvedRefs": "False"}
    assert plugin.parent_conditions(ROUTE, "missing") == {}
    assert plugin.parent_conditions(ROUTE) == {"Accepted": "False"}  # any parent: the first
    assert plugin.parent_reasons(ROUTE, "gw")["ResolvedRefs"] == "False (InvalidKind): unsupported"
    assert plugin.parent_reasons(ROUTE, "gw")["Accepted"] == "True (Accepted)"


def test_condition_summary(plugin: ModuleType) -> None:
    assert plugin.condition_summary(GATEWAY) == "Accepted=True (Accepted), Programmed=False (Pending)"
    assert plugin.condition_summary({}) == ""


def test_items_with_condition_reads_a_looped_k8s_info(plugin: ModuleType) -> None:
    def crd(established: str) -> dict[str, Any]:
        return {"resources": [{"status": {"conditions": [{"type": "NamesAccepted", "status": "True"},
                                                         {"type": "Established", "status": established}]}}]}  # fmt: skip

    results = [{"item": "rayclusters.ray.io", **crd("True")}, {"item": "rayjobs.ray.io", **crd("False")},
               {"item": "rayservices.ray.io", "resources": []}]  # fmt: skip
    assert plugin.items_with_condition(results, "Established") == ["rayclusters.ray.io"]
    assert plugin.items_with_condition(results, "Established", "False") == ["rayjobs.ray.io"]
    assert plugin.items_with_condition(None, "Established") == []


def test_label_values_with_a_default(plugin: ModuleType) -> None:
    pods = [{"metadata": {"labels": {"ray.io/node-type": "head"}}}, {"metadata": {}}, {"metadata": {"labels": {"a": "b"}}}]
    assert plugin.label_values(pods, "ray.io/node-type", "?") == ["head", "?", "?"]


def test_condition_lines_for_evidence(plugin: ModuleType) -> None:
    apis = [{"metadata": {"name": "v1beta2.custom.metrics.k8s.io"},
             "status": {"conditions": [{"type": "Available", "status": "True", "message": "all checks passed"}]}},
            {"metadata": {"name": "v1beta1.custom.metrics.k8s.io"}, "status": {"conditions": [{"type": "Available", "status": "False"}]}},
            {"metadata": {"name": "no-status"}}]  # fmt: skip
    assert plugin.condition_lines(apis, "Available") == ["v1beta2.custom.metrics.k8s.io Available=True all checks passed",
                                                         "v1beta1.custom.metrics.k8s.io Available=False "]  # fmt: skip


def test_labels_missing_names_absent_and_changed_labels(plugin: ModuleType) -> None:
    job = {"metadata": {"labels": {"harness.dev/run-id": "r1", "kueue.x-k8s.io/queue-name": "other"}}}
    expected = {"harness.dev/run-id": "r1", "kueue.x-k8s.io/queue-name": "lq", "team": "a"}
    assert plugin.labels_missing(job, expected) == ["kueue.x-k8s.io/queue-name", "team"]
    assert plugin.labels_missing({}, {"a": "1"}) == ["a"] and plugin.labels_missing(job, {}) == []


def test_object_refs_namespaced_and_cluster_scoped(plugin: ModuleType) -> None:
    objs = [{"metadata": {"name": "cluster-autoscaler", "namespace": "kube-system"}}, {"metadata": {"name": "gpu-pool"}}]
    assert plugin.object_refs(objs, "Deployment") == ["Deployment kube-system/cluster-autoscaler", "Deployment gpu-pool"]
    assert plugin.object_refs(None, "Deployment") == []


def test_ready_node_units_skips_cordoned_and_not_ready_nodes(plugin: ModuleType) -> None:
    def node(name: str, ready: str = "True", units: str | None = "8", cordoned: bool = False) -> dict[str, Any]:
        return {"metadata": {"name": name}, "spec": {"unschedulable": True} if cordoned else {},
                "status": {"allocatable": {"nvidia.com/gpu": units} if units else {},
                           "conditions": [{"type": "Ready", "status": ready}]}}  # fmt: skip

    nodes = [node("a"), node("b", ready="False"), node("c", cordoned=True), node("d", units=None), node("e", units="4")]
    assert plugin.ready_node_units(nodes, "nvidia.com/gpu") == [{"name": "a", "gpus": 8}, {"name": "d", "gpus": 0},
                                                               {"name": "e", "gpus": 4}]  # fmt: skip


def test_nodes_with_units(plugin: ModuleType) -> None:
    nodes = [{"metadata": {"name": "gpu"}, "status": {"allocatable": {"nvidia.com/gpu": "8"}}},
             {"metadata": {"name": "zero"}, "status": {"allocatable": {"nvidia.com/gpu": "0"}}},
             {"metadata": {"name": "cpu"}, "status": {}}]  # fmt: skip
    assert plugin.nodes_with_units(nodes, "nvidia.com/gpu") == ["gpu"]


def test_metadata_of_keeps_the_named_objects_in_their_order(plugin: ModuleType) -> None:
    import json
    from pathlib import Path

    nodes = json.loads((Path(__file__).parent / "data" / "probes" / "lab-nodes.json").read_text())
    assert [m["name"] for m in plugin.metadata_of(nodes, {"sim-gpu-1": {}, "sim-gpu-0": {}})] == ["sim-gpu-0", "sim-gpu-1"]
    assert plugin.metadata_of(nodes, []) == [] and plugin.metadata_of(None, ["x"]) == []
    assert plugin.metadata_of(nodes, ["harness-node"]) == [nodes[0]["metadata"]]


# A namespace deletion's registered result, as the lab returned it under failed_when: false (a namespace
# held by a finalizer, wait_timeout 3): failed is false, the module's msg says what went wrong.
TIMED_OUT = {"changed": True, "result": {}, "method": "delete", "duration": 3, "failed": False,
             "msg": '"Namespace" "ns-1": Timed out waiting on resource', "failed_when_result": False}  # fmt: skip
DELETED = {"changed": True, "result": {}, "method": "delete", "duration": 5, "failed": False, "failed_when_result": False}


def test_a_namespace_deletion_that_did_not_finish_is_an_error(plugin: ModuleType) -> None:
    (check,) = plugin.namespace_cleanup_checks(TIMED_OUT, "ns-1")
    assert check == {"name": "Cleanup: namespace ns-1 is deleted", "status": "error", "expected": "deleted",
                     "observed": "still present or not deletable", "message": '"Namespace" "ns-1": Timed out waiting on resource'}  # fmt: skip
    (failed,) = plugin.namespace_cleanup_checks({"failed": True, "msg": "x" * 600}, "ns")  # under ignore_errors
    assert failed["message"] == "x" * 500


@pytest.mark.parametrize("cleanup", [DELETED, {**DELETED, "changed": False}, {"skipped": True, "msg": "Conditional result was False"}, None])
def test_a_finished_skipped_or_absent_deletion_is_no_check(plugin: ModuleType, cleanup: Any) -> None:
    assert plugin.namespace_cleanup_checks(cleanup, "ns-1") == []

