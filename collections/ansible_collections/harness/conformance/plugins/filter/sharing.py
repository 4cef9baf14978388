# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Which GPU sharing mechanisms a cluster advertises, and whether the numbers add up (``verify_gpu_sharing``).

Three mechanisms count: time-slicing or MPS (the device plugin's sharing-strategy and replicas labels,
each GPU advertised ``replicas`` times, possibly as ``<resource>.shared``), MIG (``nvidia.com/mig-*``
resources, or the single strategy's MIG product name) and DRA devices that can be shared or
partitioned (``allowMultipleAllocations``, ``consumesCounters``, or a device type such as ``mig``).

- ``sharing_mechanisms``: what the nodes and ResourceSlices advertise, per mechanism;
- ``sharing_checks``: the check records judging it;
- ``sharing_node_summaries``: name, labels and allocatable of each node (the evidence file).
"""

from __future__ import annotations

import re
from typing import Any

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
positional: _input
options:
  _input:
    description: Node objects, or what C(sharing_mechanisms) returned.
    type: raw
    required: true
  slices:
    description: The cluster's ResourceSlices.
    type: list
  sources:
    description: >-
      The role's settings: C(resource), C(strategy_label), C(strategies), C(replicas_label), C(count_label),
      C(mig_resource_pattern), C(mig_strategy_label), C(product_label), C(dra_shared_types).
    type: dict
    required: true
"""



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


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "sharing_mechanisms": sharing_mechanisms,
            "sharing_checks": sharing_checks,
            "sharing_node_summaries": sharing_node_summaries,
        }
