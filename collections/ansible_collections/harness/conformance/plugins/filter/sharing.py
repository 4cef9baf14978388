# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Which GPU sharing mechanisms a cluster advertises, and whether the numbers add up (``verify_gpu_sharing``).

Three mechanisms count: time-slicing or MPS (the device plugin's sharing-strategy and replicas labels,
each GPU advertised ``replicas`` times, possibly as ``<resource>.shared``), MIG (``nvidia.com/mig-*``
resources, or the single strategy's MIG product name) and DRA devices that can be shared or
partitioned (``allowMultipleAllocations``, ``consumesCounters``, or a device type such as ``mig``).

- ``sharing_mechanisms``: what the nodes and ResourceSlices advertise, per mechanism;
- ``sharing_checks``: the check records judging it;
- ``sharing_node_summaries``: name, labels and allocatable of each node (the evidence file);
- ``sharing_step``, ``sharing_probe_step``, ``oversubscription_step``: the role's three notebook steps,
  whole, for ``harness.conformance.evidence``'s ``step:``, from what the tasks before them registered
  (the first one's facts plan the probe and the oversubscription test).

The steps take the registered ``k8s_info`` results as they are: on a 500-node lab the Node and
ResourceSlice lists are megabytes that no Jinja expression should copy; only small facts come back.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.harness.conformance.plugins.module_utils.k8s_results import evidence_file, read_resources
from ansible_collections.harness.conformance.plugins.filter.probes import (
    container_nodes,
    needs_accelerator,
    sharing_probe_pods,
)
from ansible_collections.harness.conformance.plugins.filter.probes import sharing_probe_checks
from ansible_collections.harness.conformance.plugins.module_utils.quantities import to_int
from ansible_collections.harness.conformance.plugins.module_utils.dra_devices import attribute_value

DOCUMENTATION = r"""
name: sharing_mechanisms
short_description: The GPU sharing mechanisms a cluster advertises, and their judgement into checks
version_added: "0.3.0"
description:
  - C(nodes | harness.conformance.sharing_mechanisms(slices, sources)) returns C(replicas) (time-sliced or MPS
    nodes), C(mig) (MIG resources per node) and C(dra) (shareable devices per driver/pool).
  - C(found | harness.conformance.sharing_checks(sources)) judges it into check records.
  - C(nodes | harness.conformance.sharing_node_summaries) keeps each node's name, labels and allocatable.
  - C(reads | harness.conformance.sharing_step(sources)) is the step "A GPU sharing mechanism is advertised" from
    the registered C(k8s_info) loop over Node, ResourceSlice and ClusterPolicy; its C(facts) are C(probe_pods),
    C(real_nodes) and C(oversubscribe) (C(node), C(pods), C(resource); {} without a time-sliced node).
  - C(probe_results | harness.conformance.sharing_probe_step(plan, sources)) is the step of what the sharing probe
    pods saw (I(plan) is the facts of C(sharing_step)).
  - C(pods | harness.conformance.oversubscription_step(applied, plan, sources)) is the step of the one-unit pods,
    from their registered read and the result of applying them.
positional: _input
options:
  _input:
    description: >-
      Node objects, what C(sharing_mechanisms) returned, the registered reads, C(probe_results) or the pods' read,
      depending on the filter.
    type: raw
    required: true
  plan:
    description: The C(facts) of C(sharing_step) (C(oversubscription_step) takes their C(oversubscribe)).
    type: dict
  applied:
    description: The registered result of applying the one-unit pods.
    type: dict
  slices:
    description: The cluster's ResourceSlices.
    type: list
  sources:
    description: >-
      The role's settings: C(resource), C(strategy_label), C(strategies), C(replicas_label), C(count_label),
      C(mig_resource_pattern), C(mig_strategy_label), C(product_label), C(dra_shared_types); for the steps also
      C(namespace).
    type: dict
    required: true
"""

ADVERTISED_TITLE = "A GPU sharing mechanism is advertised"
PROBE_TITLE = "Pods sharing a GPU run on the same physical GPU"
PROBE_CHECK = "Pods given shared units run concurrently on the same physical GPU"
OVERSUBSCRIBED = "More one-unit pods than physical GPUs run on a time-sliced node"



def _replicas(name: str, labels: dict[str, Any], alloc: dict[str, Any], src: dict[str, Any]) -> dict[str, Any] | None:
    strategy = labels.get(src["strategy_label"], "")
    replicas = to_int(labels.get(src["replicas_label"], "1"))
    if strategy not in src["strategies"] or replicas <= 1:
        return None
    res = str(src["resource"])
    shared = f"{res}.shared"
    return {
        "strategy": strategy,
        "replicas": replicas,
        "gpus": str(labels.get(src["count_label"], "")),
        "resource": shared if shared in alloc else res,
        "allocatable": to_int(alloc.get(shared, alloc.get(res, "0"))),
    }


def _mig(labels: dict[str, Any], alloc: dict[str, Any], src: dict[str, Any]) -> dict[str, int]:
    pattern = re.compile(str(src["mig_resource_pattern"]))
    mig = {k: to_int(v) for k, v in alloc.items() if pattern.match(k) and to_int(v) > 0}
    product = labels.get(src["product_label"], "")
    if labels.get(src["mig_strategy_label"], "") == "single" and "-MIG-" in product:
        mig[f"{src['resource']} (MIG single: {product})"] = to_int(alloc.get(src["resource"], "0"))
    return mig


def _shareable(device: dict[str, Any], shared_types: list[str]) -> str:
    """Why a DRA device can be shared or partitioned ("" when it cannot)."""
    dtype = attribute_value((device.get("attributes") or {}).get("type") or {})
    if device.get("allowMultipleAllocations"):
        return f"{device['name']} (allowMultipleAllocations)"
    if device.get("consumesCounters"):
        return f"{device['name']} (partition of shared counters)"
    if dtype in shared_types:
        return f"{device['name']} (type {dtype})"
    return ""


def sharing_mechanisms(nodes: list[dict[str, Any]], slices: list[dict[str, Any]] | None,
                       sources: dict[str, Any]) -> dict[str, dict[str, Any]]:  # fmt: skip
    out: dict[str, dict[str, Any]] = {"replicas": {}, "mig": {}, "dra": {}}
    for node in nodes or []:
        name = node["metadata"]["name"]
        labels = node["metadata"].get("labels") or {}
        alloc = (node.get("status") or {}).get("allocatable") or {}
        replicas = _replicas(name, labels, alloc, sources)
        if replicas:
            out["replicas"][name] = replicas
        mig = _mig(labels, alloc, sources)
        if mig:
            out["mig"][name] = mig
    for s in slices or []:
        spec = s.get("spec") or {}
        shared = [why for d in spec.get("devices") or [] if (why := _shareable(d, sources["dra_shared_types"]))]
        if shared:
            out["dra"][f"{spec.get('driver')}/{(spec.get('pool') or {}).get('name')}"] = shared
    return out


def sharing_checks(found: dict[str, dict[str, Any]], sources: dict[str, Any]) -> list[dict[str, Any]]:
    found_any = bool(found["replicas"] or found["mig"] or found["dra"])
    checks: list[dict[str, Any]] = [{
        "name": "A GPU sharing mechanism is advertised (time-slicing/MPS replicas, MIG, or shareable DRA devices)",
        "status": "pass" if found_any else "fail",
        "expected": f"nodes labelled {sources['strategy_label']} in {'/'.join(sources['strategies'])} with replicas > 1, "
                    "MIG resources, or DRA devices that can be shared or partitioned",
        "observed": {"time-slicing/MPS": list(found["replicas"]), "MIG": list(found["mig"]), "DRA": list(found["dra"])},
        "message": "" if found_any else "no sharing mechanism found",
    }]  # fmt: skip
    if not found["replicas"]:
        checks.append({
            "name": "More one-unit pods than physical GPUs run on a time-sliced node",
            "status": "skip", "required": False,
            "expected": "applies to time-slicing/MPS replicas", "observed": "no time-sliced node",
            "message": "MIG and DRA sharing are shown by what the nodes and ResourceSlices advertise",
        })  # fmt: skip
        return checks
    bad: list[str] = []
    unknown: list[str] = []
    ok: list[str] = []
    for name, r in found["replicas"].items():
        if not r["gpus"]:
            unknown.append(name)
        elif r["allocatable"] == to_int(r["gpus"]) * r["replicas"]:
            ok.append(f"{name}: {r['gpus']} GPUs x {r['replicas']} = {r['allocatable']} {r['resource']}")
        else:
            bad.append(f"{name}: {r['allocatable']} {r['resource']}, expected {r['gpus']} x {r['replicas']}")
    checks.append({
        "name": "Time-sliced nodes advertise GPUs x replicas shared units",
        "status": "fail" if bad else ("error" if unknown else "pass"),
        "expected": f"allocatable = {sources['count_label']} x {sources['replicas_label']}",
        "observed": bad + ok,
        "message": (f"no {sources['count_label']} label on {', '.join(unknown)}: the physical GPU count is unknown"
                    if unknown else ""),
    })  # fmt: skip
    return checks


def sharing_node_summaries(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": n["metadata"]["name"], "labels": n["metadata"].get("labels") or {},
             "allocatable": (n.get("status") or {}).get("allocatable") or {}} for n in nodes or []]  # fmt: skip


def _plugin_configs(policies: list[dict[str, Any]]) -> list[Any]:
    """The device plugin's sharing configuration each GPU Operator ClusterPolicy names."""
    return [((p.get("spec") or {}).get("devicePlugin") or {}).get("config", "no devicePlugin.config") for p in policies]


def oversubscription_plan(replicas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """On the first time-sliced node, one pod more than it has physical GPUs (an unknown count: one
    GPU), each asking for one unit of the shared resource; {} without a time-sliced node."""
    if not replicas:
        return {}
    node = sorted(replicas)[0]
    try:
        gpus = int(str(replicas[node].get("gpus")))
    except ValueError:
        gpus = 1
    return {"node": node, "pods": gpus + 1, "resource": replicas[node]["resource"]}


def sharing_step(reads: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """The step "A GPU sharing mechanism is advertised", from the role's one read of Nodes,
    ResourceSlices and the GPU Operator's ClusterPolicy (kept as evidence: it names the device
    plugin's sharing configuration). Its facts plan the probe and the oversubscription test."""
    nodes, slices = read_resources(reads, "Node"), read_resources(reads, "ResourceSlice")
    policies = read_resources(reads, "ClusterPolicy")
    found = sharing_mechanisms(nodes, slices, sources)
    real = container_nodes(nodes)
    return {
        "title": ADVERTISED_TITLE,
        "command": (f"kubectl get nodes -L {sources['strategy_label']},{sources['replicas_label']},"
                    f"{sources['count_label']},{sources['mig_strategy_label']}; "
                    "kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.status.allocatable}{\"\\n\"}{end}'; "
                    "kubectl get resourceslices -o yaml"),
        "output": {"time_slicing_or_mps": found["replicas"], "mig": found["mig"], "dra_shared_devices": found["dra"],
                   "clusterpolicy": _plugin_configs(policies)},
        "files": [evidence_file("nodes.yaml", sharing_node_summaries(nodes)),
                  {"name": "clusterpolicy.yaml", "data": policies}],
        "checks": sharing_checks(found, sources),
        "facts": {"probe_pods": sharing_probe_pods(found["replicas"], real), "real_nodes": real,
                  "oversubscribe": oversubscription_plan(found["replicas"])},
    }  # fmt: skip


def sharing_probe_step(probe_results: Any, plan: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """The step of the pods that each asked for one shared unit of a GPU on a node that runs containers:
    they run at once and report the same physical GPU; without such a node, the skipped check that says so."""
    pods = [p["name"] for p in (plan or {}).get("probe_pods") or []]
    results = probe_results or {}
    ns = sources["namespace"]
    return {
        "title": PROBE_TITLE,
        "command": f"kubectl -n {ns} logs share-a; kubectl -n {ns} logs share-b",
        "output": results if pods else "not probed",
        "files": [{"name": "probes.yaml", "data": results}] if pods else [],
        "checks": sharing_probe_checks(results, pods) if pods else needs_accelerator(
            PROBE_CHECK, "nvidia-smi in each pod reports the same GPU UUID while all run",
            "pods given one shared unit each would run at once and report the GPU UUID nvidia-smi -L lists",
            (plan or {}).get("real_nodes") or []),
    }  # fmt: skip


def _unschedulable(pods: list[dict[str, Any]]) -> list[str]:
    """Why pods were not scheduled (their PodScheduled=False messages), each once."""
    return list(dict.fromkeys(str(c.get("message", "")) for p in pods for c in (p.get("status") or {}).get("conditions") or []
                              if c.get("type") == "PodScheduled" and c.get("status") == "False"))  # fmt: skip


def oversubscription_step(pods_read: Any, applied: Any, plan: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """The step of the one-unit pods on one time-sliced node: all of them running at once shows the
    scheduler hands out replicas, not whole GPUs. ``plan``: what ``oversubscription_plan`` chose."""
    pods = list((pods_read or {}).get("resources") or []) if isinstance(pods_read, dict) else []
    phases = {p["metadata"]["name"]: (p.get("status") or {}).get("phase", "Pending") for p in pods}
    ran = sum(1 for v in phases.values() if v == "Running")
    want = int(plan["pods"])
    return {
        "title": OVERSUBSCRIBED,
        "command": f"kubectl -n {sources['namespace']} get pods -o wide",
        "output": {"node": plan["node"], "resource": plan["resource"], "pods": phases},
        "files": [{"name": "applied.yaml", "data": applied.get("result", {}) if isinstance(applied, dict) else {}},
                  {"name": "pods.yaml", "data": pods}],
        "checks": [{
            "name": OVERSUBSCRIBED,
            "status": "pass" if ran == want else "fail",
            "expected": f"{want} pods Running on {plan['node']} ({want - 1} GPUs)",
            "observed": f"{ran} Running",
            "message": "; ".join(_unschedulable(pods)),
        }],
    }  # fmt: skip


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "sharing_mechanisms": sharing_mechanisms,
            "sharing_checks": sharing_checks,
            "sharing_node_summaries": sharing_node_summaries,
            "sharing_step": sharing_step,
            "sharing_probe_step": sharing_probe_step,
            "oversubscription_step": oversubscription_step,
        }
