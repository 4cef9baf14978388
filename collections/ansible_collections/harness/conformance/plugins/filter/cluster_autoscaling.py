# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Whether an accelerator node pool grows for a pod that fits nowhere and shrinks back (``verify_cluster_autoscaling``).

The role follows upstream's TestAcceleratorClusterAutoscaling: find an autoscaler, check that the pool
(nodes carrying the pool label) is stable, fill every pool node's GPUs with one baseline pod each, add a
trigger pod that fits nowhere, and watch the pool grow by one node for it and shrink back once the pods
are gone. Each judged step is one filter here, returning the step for ``harness.conformance.evidence``
(``title``, ``command``, ``output``, ``checks``, ``files``, ``facts``):

- ``reads | autoscaler_presence(lab_record, sources)``: what counts as an autoscaler, and the pool as found;
- ``base_pods | autoscaling_baseline_step(found, watched, created, trigger, sources)``: the pool stable and filled;
- ``up | autoscaling_scale_up_step(pending, grown, found, sources)``: the trigger Unschedulable, then on a new node;
- ``shrunk | autoscaling_scale_down_step(found, unschedulable, sources)``: the pool back to its size.

And the conditions the role's waits poll on: ``autoscaling_pool_unchanged``, ``autoscaling_running_pods``,
``autoscaling_trigger_settled``, ``autoscaling_trigger_unschedulable``, ``autoscaling_trigger_on_new_node``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ansible_collections.harness.conformance.plugins.module_utils.k8s_results import (
    first as _first,
    resources as _resources,
)
from ansible_collections.harness.conformance.plugins.module_utils.quantities import to_int

DOCUMENTATION = r"""
name: autoscaler_presence
short_description: The judged steps of verify_cluster_autoscaling (autoscaler found, pool filled, scale-up, scale-down)
version_added: "0.3.0"
description:
  - C(reads | harness.conformance.autoscaler_presence(lab_record, sources)) judges the looped C(k8s_info)
    reads (each item with a C(key) of C(deployments), C(status_configmap), C(nodepools) or C(pool)) into the
    "A cluster autoscaler is present" step; its C(facts) are C(found), C(pool) (names of the pool's nodes),
    C(baseline) (C({name, gpus}) of its schedulable Ready nodes) and C(fills) (those with GPUs).
  - C(base_pods | harness.conformance.autoscaling_baseline_step(found, watched, created, trigger, sources)) the
    baseline step; C(facts.full) says whether the trigger can go, C(facts.trigger) is its manifest.
  - C(up | harness.conformance.autoscaling_scale_up_step(pending, grown, found, sources)) the scale-up step;
    C(facts.unschedulable) says whether a scale-up was triggered.
  - C(shrunk | harness.conformance.autoscaling_scale_down_step(found, unschedulable, sources)) the scale-down step.
  - C(autoscaling_pool_unchanged), C(autoscaling_running_pods), C(autoscaling_trigger_settled),
    C(autoscaling_trigger_unschedulable) and C(autoscaling_trigger_on_new_node) are the conditions the
    role's waits poll.
positional: _input
options:
  _input:
    description: A registered C(k8s_info) result (looped, for C(autoscaler_presence)).
    type: raw
    required: true
  sources:
    description: >-
      The role's settings: C(namespace), C(node_pool_label), C(gpu_resource), C(deployment_regex),
      C(status_configmap), C(lab_record), C(stability_window), C(pending_timeout), C(scale_up_timeout),
      C(scale_down_timeout).
    type: dict
"""

TRIGGER = "autoscaler-trigger"


# ---- reading registered results -------------------------------------------------------------------

def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _names(result: Any) -> list[str]:
    return [_name(o) for o in _resources(result)]


def _read(reads: Any, key: str) -> dict[str, Any]:
    """The result of one item of the role's looped read, by the item's ``key``."""
    results = reads.get("results") if isinstance(reads, dict) else None
    for r in results or []:
        if isinstance(r, dict) and (r.get("item") or {}).get("key") == key:
            return r
    return {}


def _refs(objs: list[dict[str, Any]], kind: str) -> list[str]:
    """``'<kind> <namespace>/<name>'`` (``'<kind> <name>'`` when cluster-scoped), as reviewers read them."""
    out = []
    for o in objs:
        ns = (o.get("metadata") or {}).get("namespace")
        out.append(f"{kind} {ns}/{_name(o)}" if ns else f"{kind} {_name(o)}")
    return out


def _ready(node: dict[str, Any]) -> bool:
    conds = (node.get("status") or {}).get("conditions") or []
    return any(isinstance(c, dict) and c.get("type") == "Ready" and str(c.get("status")) == "True" for c in conds)


def _units(nodes: list[dict[str, Any]], resource: str) -> list[dict[str, Any]]:
    """``{name, gpus}`` of the schedulable Ready nodes: the baseline a scale-up is counted from (a node
    that is cordoned or not Ready takes no pod, so it neither needs filling nor counts)."""
    return [{"name": _name(n), "gpus": to_int(((n.get("status") or {}).get("allocatable") or {}).get(resource, "0"))}
            for n in nodes if not (n.get("spec") or {}).get("unschedulable") and _ready(n)]  # fmt: skip


def _pod_scheduled(pod: dict[str, Any]) -> dict[str, Any]:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "PodScheduled":
            return c
    return {}


# ---- the conditions the waits poll ----------------------------------------------------------------

def autoscaling_pool_unchanged(watched: Any, pool: list[str]) -> bool:
    """Whether the pool has the nodes it had at the start (a pool that changes is not idle: the test
    would count someone else's scale-up or scale-down)."""
    return sorted(_names(watched)) == sorted(pool or [])


def autoscaling_running_pods(result: Any) -> list[str]:
    """The names of the Running pods a k8s_info read returned."""
    return [_name(p) for p in _resources(result) if (p.get("status") or {}).get("phase") == "Running"]


def autoscaling_trigger_unschedulable(pending: Any) -> bool:
    """Whether the scheduler found no room for the trigger pod: what makes an autoscaler act."""
    cond = _pod_scheduled(_first(pending))
    return cond.get("reason") == "Unschedulable"


def autoscaling_trigger_settled(pending: Any) -> bool:
    """Whether the scheduler has decided about the trigger pod: placed it, or found no room."""
    return bool((_first(pending).get("spec") or {}).get("nodeName")) or autoscaling_trigger_unschedulable(pending)


def autoscaling_trigger_on_new_node(up: Any, baseline: Iterable[str]) -> bool:
    """Whether the trigger pod runs on a node that was not in the pool's baseline (names, a list or Jinja's map)."""
    pod = _first(up)
    baseline = list(baseline or [])
    running = (pod.get("status") or {}).get("phase") == "Running"
    return running and (pod.get("spec") or {}).get("nodeName", "") not in baseline


# ---- the judged steps -----------------------------------------------------------------------------

def autoscaler_presence(reads: Any, lab_record: bool, sources: dict[str, Any]) -> dict[str, Any]:
    """The "A cluster autoscaler is present" step. A Deployment named like an autoscaler, a Karpenter
    NodePool, cluster-autoscaler's status ConfigMap or the simulated lab's component record each count;
    none is a failure (a platform without one declares the requirement N/A instead). The facts also
    hold the pool as it was read, the start of the stability window."""
    pattern = re.compile(str(sources["deployment_regex"]))
    deploys = [d for d in _resources(_read(reads, "deployments")) if pattern.search(_name(d))]
    found = (_refs(deploys, "Deployment") + _refs(_resources(_read(reads, "nodepools")), "Karpenter NodePool")
             + ([f"ConfigMap {sources['status_configmap']}"] if _resources(_read(reads, "status_configmap")) else [])
             + ([f"lab component {sources['lab_record']}"] if lab_record else []))  # fmt: skip
    pool = _resources(_read(reads, "pool"))
    baseline = _units(pool, str(sources["gpu_resource"]))
    return {
        "title": "A cluster autoscaler is present",
        "command": (f"kubectl get deployments -A | grep -E '{sources['deployment_regex']}'; "
                    "kubectl get nodepools.karpenter.sh; "
                    f"kubectl get configmap -n {' '.join(str(sources['status_configmap']).split('/'))}"),  # fmt: skip
        "output": found or "nothing found",
        "checks": [{
            "name": "Cluster autoscaler present",
            "status": "pass" if found else "fail",
            "expected": "a cluster-autoscaler or Karpenter installation",
            "observed": ", ".join(found) or "none",
            "message": "" if found else "no cluster autoscaler found",
        }],
        "facts": {
            "found": found,
            "pool": sorted(_name(n) for n in pool),
            "baseline": baseline,
            "fills": [n for n in baseline if n["gpus"] > 0],
        },
    }  # fmt: skip


def autoscaling_baseline_step(base_pods: Any, found: dict[str, Any], watched: Any, created: Any,
                              trigger: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The "pool is stable and every node's GPUs are taken" step. A pool that changed during the window,
    or whose baseline pods did not all run, cannot show a scale-up: that is an error of the
    environment, not a failure of the platform. Saves the pods as applied (baseline and trigger)."""
    baseline = found.get("baseline") or []
    stable = autoscaling_pool_unchanged(watched, found.get("pool") or [])
    pods = [r["item"] for r in (created or {}).get("results") or []
            if isinstance(r, dict) and (r.get("item") or {}).get("kind") == "Pod"]  # fmt: skip
    running = autoscaling_running_pods(base_pods) if stable else []
    full = stable and len(running) == len(pods)
    ns, label = sources["namespace"], sources["node_pool_label"]
    return {
        "title": "The accelerator pool is stable and every node's GPUs are taken",
        "command": f"kubectl get nodes -l {label}; kubectl get pods -n {ns} -l harness.dev/role=baseline -o wide",
        "output": {"baseline_nodes": baseline, "stable": stable, "baseline_pods_running": running},
        "files": [{"name": "pods-applied.yaml", "data": pods + [trigger]}],
        "checks": [{
            "name": "Pool stable and filled (baseline)",
            "status": "pass" if full else "error",
            "expected": (f"the pool's {len(baseline)} node(s) unchanged for {sources['stability_window']}s, "
                         "one baseline pod running per node"),
            "observed": f"stable={stable}, {len(running)} of {len(pods)} baseline pods running",
            "message": "" if full else "the pool is changing or not idle; the test needs an idle pool",
        }],
        "facts": {"full": full, "trigger": trigger},
    }  # fmt: skip


def autoscaling_scale_up_step(up: Any, pending: Any, grown: Any, found: dict[str, Any],
                              sources: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The "A pod that fits nowhere makes the pool grow" step. A trigger the full pool could still place
    shows nothing (error); an Unschedulable trigger that does not come to run on a new node, with the
    pool one node larger, is the platform's failure."""
    names = [n["name"] for n in found.get("baseline") or []]
    unschedulable = autoscaling_trigger_unschedulable(pending)
    pod = _first(up)
    node = str((pod.get("spec") or {}).get("nodeName") or "")
    phase = str((pod.get("status") or {}).get("phase") or "")
    pool = _names(grown)
    new = phase == "Running" and bool(node) and node not in names and len(pool) >= len(names) + 1
    placed = (_first(pending).get("spec") or {}).get("nodeName") or "no node, no reason"
    ns, label = sources["namespace"], sources["node_pool_label"]
    return {
        "title": "A pod that fits nowhere makes the pool grow",
        "command": f"kubectl get pod -n {ns} {TRIGGER} -o wide; kubectl get nodes -l {label}",
        "output": {
            "pending_conditions": (_first(pending).get("status") or {}).get("conditions") or [],
            "trigger_node": node,
            "pool_nodes": pool,
        },
        "checks": [
            {
                "name": "Trigger pod Unschedulable on the full pool",
                "status": "pass" if unschedulable else "error",
                "expected": f"PodScheduled=False reason Unschedulable within {sources['pending_timeout']}s",
                "observed": "Unschedulable" if unschedulable else f"scheduled on {placed}",
                "message": "" if unschedulable else "the pool had room, so no scale-up could be triggered",
            },
            {
                "name": "Scale-up - trigger pod runs on a new pool node",
                "status": ("pass" if new else "fail") if unschedulable else "skip",
                "expected": (f"pool {len(names)} -> {len(names) + 1} nodes, "
                             f"trigger Running on a new node within {sources['scale_up_timeout']}s"),
                "observed": f"pool {len(pool)} nodes, trigger {phase or 'Pending'} on {node or 'no node'}",
            },
        ],
        "facts": {"unschedulable": unschedulable},
    }  # fmt: skip


def autoscaling_scale_down_step(shrunk: Any, found: dict[str, Any], unschedulable: bool,
                                sources: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The "With the pods gone the pool shrinks back" step: the pool back to its baseline size (skipped
    when no scale-up was triggered)."""
    size = len(found.get("baseline") or [])
    pool = _names(shrunk)
    return {
        "title": "With the pods gone the pool shrinks back",
        "command": f"kubectl get nodes -l {sources['node_pool_label']}",
        "output": pool,
        "checks": [{
            "name": "Scale-down - pool back to its baseline size",
            "status": ("pass" if len(pool) == size else "fail") if unschedulable else "skip",
            "expected": f"{size} nodes within {sources['scale_down_timeout']}s",
            "observed": f"{len(pool)} nodes",
        }],
    }  # fmt: skip


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "autoscaler_presence": autoscaler_presence,
            "autoscaling_baseline_step": autoscaling_baseline_step,
            "autoscaling_scale_up_step": autoscaling_scale_up_step,
            "autoscaling_scale_down_step": autoscaling_scale_down_step,
            "autoscaling_pool_unchanged": autoscaling_pool_unchanged,
            "autoscaling_running_pods": autoscaling_running_pods,
            "autoscaling_trigger_settled": autoscaling_trigger_settled,
            "autoscaling_trigger_unschedulable": autoscaling_trigger_unschedulable,
            "autoscaling_trigger_on_new_node": autoscaling_trigger_on_new_node,
        }
