# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Which definitions an apply would change: the ones whose object is missing or differs in what the
definition sets. The simulated lab applies 500 Nodes; sending them all makes every ``up`` slow, and a
node whose status kwok renewed meanwhile comes back different, so ``up`` reported a change on a lab
that had none."""

from __future__ import annotations

from typing import Any

DOCUMENTATION = r"""
name: objects_to_apply
short_description: The definitions whose live objects are missing or differ in what the definition sets
version_added: "0.4.0"
description:
  - C(definitions | harness.conformance.objects_to_apply(live)) returns, in order, each definition whose object
    (same kind, namespace and name) is not in I(live), or whose live object lacks one of the definition's values.
  - Mappings compare as subsets (labels others add do not count), lists and scalars by equality, and an empty
    value as an absent one; the
    definition's C(status) is ignored, since only the status subresource writes it.
positional: _input
options:
  _input:
    description: Object definitions as the apply would send them.
    type: list
    required: true
  live:
    description: The live objects (a C(harness.conformance.k8s_info) result's C(resources)).
    type: list
    required: true
"""


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return str(obj.get("kind", "")), str(meta.get("namespace", "")), str(meta["name"])


def holds(live: Any, wanted: Any) -> bool:
    """Whether ``live`` has everything ``wanted`` sets (mappings as subsets, the rest by equality)."""
    if wanted in ({}, [], None):
        return not live  # empty and absent are the same to the API server
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(holds(live.get(k), v) for k, v in wanted.items())
    return bool(live == wanted)


# Taints Kubernetes' own controllers put on nodes and take off again (node lifecycle, cloud provider).
CONTROLLER_TAINTS = ("node.kubernetes.io/", "node.cloudprovider.kubernetes.io/")


def _without_controller_taints(obj: dict[str, Any]) -> dict[str, Any]:
    """A live Node as its definition could have set it: a node applied with ``taints: []`` right after it
    joined still carries ``node.kubernetes.io/not-ready`` for a few seconds, and is not different for it."""
    spec = obj.get("spec") or {}
    taints = spec.get("taints")
    if obj.get("kind") != "Node" or not taints:
        return obj
    kept = [t for t in taints if not str((t or {}).get("key", "")).startswith(CONTROLLER_TAINTS)]
    return {**obj, "spec": {**spec, "taints": kept}}


def objects_to_apply(definitions: list[dict[str, Any]], live: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = {_key(o): _without_controller_taints(o) for o in live or []}
    out = []
    for definition in definitions or []:
        current = found.get(_key(definition))
        wanted = {k: v for k, v in definition.items() if k != "status"}
        if current is None or not holds(current, wanted):
            out.append(definition)
    return out


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"objects_to_apply": objects_to_apply}
