"""Which Node definitions the simulated lab's up still has to apply (plugins/filter/apply.py), against
the nodes recorded from the lab."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from unit_fixtures import load_filter_plugin

NODES = json.loads((Path(__file__).parent / "data" / "probes" / "lab-nodes.json").read_text())


@pytest.fixture(scope="module")
def ap() -> ModuleType:
    return load_filter_plugin("apply")


def definition(node: dict[str, Any]) -> dict[str, Any]:
    """What roles/sim_gpu_nodes sends for a recorded kwok node: its labels, annotations, no taints, a status."""
    meta = node["metadata"]
    return {"apiVersion": "v1", "kind": "Node", "spec": {"taints": []},
            "metadata": {"name": meta["name"], "labels": dict(meta["labels"]), "annotations": dict(meta["annotations"])},
            "status": {"capacity": {"nvidia.com/gpu": "99"}}}  # fmt: skip


def test_nodes_as_recorded_need_nothing(ap: ModuleType) -> None:
    kwok = [n for n in NODES if n["metadata"]["name"].startswith("sim-gpu-")]
    assert len(kwok) == 2
    assert ap.objects_to_apply([definition(n) for n in kwok], NODES) == []


def test_a_changed_label_a_new_taint_or_a_missing_node_is_applied(ap: ModuleType) -> None:
    first, second = (definition(n) for n in NODES[1:3])
    relabelled = copy.deepcopy(first)
    relabelled["metadata"]["labels"]["nvidia.com/gpu.product"] = "NVIDIA-B200"
    tainted = copy.deepcopy(second)
    tainted["spec"]["taints"] = [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]
    missing = copy.deepcopy(second)
    missing["metadata"]["name"] = "sim-gpu-2"
    assert ap.objects_to_apply([relabelled, tainted, missing], NODES) == [relabelled, tainted, missing]


def test_labels_others_add_do_not_count_but_status_is_never_compared(ap: ModuleType) -> None:
    node = copy.deepcopy(NODES[1])
    node["metadata"]["labels"]["added-by-someone"] = "x"
    want = definition(NODES[1])
    assert want["status"]["capacity"] != node["status"]["capacity"]
    assert ap.objects_to_apply([want], [node]) == []
    assert ap.holds({"a": {"b": 1, "c": 2}}, {"a": {"b": 1}}) and not ap.holds({"a": {"b": 1}}, {"a": {"b": 2}})
    assert ap.holds({}, {"taints": []}) and not ap.holds({"taints": [{"key": "k"}]}, {"taints": []})


def test_taints_the_node_controller_owns_do_not_count_but_ours_do(ap: ModuleType) -> None:
    # a node applied right after it joined: the node lifecycle controller's taint is still on it
    node = copy.deepcopy(NODES[1])
    node["spec"]["taints"] = [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]
    want = definition(NODES[1])
    assert ap.objects_to_apply([want], [node]) == []
    node["spec"]["taints"].append({"key": "nvidia.com/gpu", "effect": "NoSchedule"})
    assert ap.objects_to_apply([want], [node]) == [want]  # a taint the inventory dropped is taken off
    want["spec"]["taints"] = [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]
    assert ap.objects_to_apply([want], [node]) == []
