# Copyright: harness developers; Apache-2.0
"""Read Kubernetes status conditions in verify roles without long Jinja expressions.

- ``obj | harness.conformance.condition('Ready')`` → ``'True'``/``'False'``/``'Unknown'``, or ``''``
  when the object (or the condition) is missing.
- ``objs | harness.conformance.with_condition('Accepted')`` → the objects whose condition is
  ``'True'`` (or the given status).
- ``route | harness.conformance.parent_conditions(gateway_name)`` → ``{type: status}`` of the
  route's (or InferencePool's) ``status.parents`` entry for that parent (any parent when the name
  is empty).
- ``conditions | harness.conformance.condition_summary`` → ``'Accepted=True (Accepted), ...'``.
- ``looped.results | harness.conformance.items_with_condition('Established')`` → the loop items of a
  looped ``k8s_info`` whose (first) object has the condition ``'True'``.
- ``objs | harness.conformance.label_values('ray.io/node-type', '?')`` → each object's value of a label.
- ``objs | harness.conformance.condition_lines('Available')`` → ``'<name> Available=<status> <message>'``
  for each object that has the condition (evidence).
- ``obj | harness.conformance.labels_missing(expected)`` → the keys of ``expected`` whose value the
  object's labels do not carry.
- ``objs | harness.conformance.object_refs('Deployment')`` → ``'Deployment <namespace>/<name>'`` (or
  ``'<kind> <name>'`` for a cluster-scoped object).
- ``nodes | harness.conformance.ready_node_units('nvidia.com/gpu')`` → ``{name, gpus}`` of each
  schedulable Ready node, with its allocatable units of the resource.
- ``nodes | harness.conformance.nodes_with_units('nvidia.com/gpu')`` → the names of the nodes with
  allocatable units of the resource.
- ``objs | harness.conformance.metadata_of(names)`` → the ``metadata`` of the objects named in ``names``,
  in the objects' order (one pass: a ``selectattr('metadata.name', 'in', ...)`` over a 500-node lab's
  nodes took 15 s of templating).
- ``cleanup | harness.conformance.namespace_cleanup_checks(namespace)`` → the error check of a namespace
  deletion that did not finish (``[]`` when it did), for a role's ``emit_checks``.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.harness.conformance.plugins.module_utils.k8s_results import namespace_cleanup_checks
from ansible_collections.harness.conformance.plugins.module_utils.quantities import to_int


def _conditions(obj: Any) -> list[dict[str, Any]]:
    if not isinstance(obj, dict):
        return []
    status = obj.get("status") or {}
    conds = status.get("conditions") if isinstance(status, dict) else None
    return [c for c in conds or [] if isinstance(c, dict)]


def condition(obj: Any, kind: str) -> str:
    for c in _conditions(obj):
        if c.get("type") == kind:
            return str(c.get("status", ""))
    return ""


def with_condition(objs: Any, kind: str, status: str = "True") -> list[Any]:
    return [o for o in objs or [] if condition(o, kind) == status]


def items_with_condition(results: Any, kind: str, status: str = "True") -> list[Any]:
    """The ``item`` of each result of a looped k8s_info whose first object has the condition."""
    return [r.get("item") for r in results or [] if isinstance(r, dict)
            and condition((r.get("resources") or [{}])[0], kind) == status]  # fmt: skip


def label_values(objs: Any, key: str, default: str = "") -> list[str]:
    return [str(((o.get("metadata") or {}).get("labels") or {}).get(key, default)) for o in objs or [] if isinstance(o, dict)]


def condition_lines(objs: Any, kind: str) -> list[str]:
    return [f"{(o.get('metadata') or {}).get('name')} {kind}={c.get('status')} {c.get('message', '')}"
            for o in objs or [] for c in _conditions(o) if c.get("type") == kind]  # fmt: skip


def labels_missing(obj: Any, expected: dict[str, Any]) -> list[str]:
    have = ((obj.get("metadata") or {}).get("labels") or {}) if isinstance(obj, dict) else {}
    return [k for k, v in (expected or {}).items() if have.get(k) != v]


def object_refs(objs: Any, kind: str) -> list[str]:
    out = []
    for o in objs or []:
        meta = o.get("metadata") or {}
        ns = meta.get("namespace")
        out.append(f"{kind} {ns}/{meta.get('name')}" if ns else f"{kind} {meta.get('name')}")
    return out



def ready_node_units(nodes: Any, resource: str) -> list[dict[str, Any]]:
    return [{"name": (n.get("metadata") or {}).get("name"),
             "gpus": to_int(((n.get("status") or {}).get("allocatable") or {}).get(resource, "0"))}
            for n in nodes or [] if not (n.get("spec") or {}).get("unschedulable") and condition(n, "Ready") == "True"]  # fmt: skip


def nodes_with_units(nodes: Any, resource: str) -> list[str]:
    return [str((n.get("metadata") or {}).get("name")) for n in nodes or []
            if to_int(((n.get("status") or {}).get("allocatable") or {}).get(resource, "0")) > 0]  # fmt: skip


def parent_conditions(obj: Any, parent: str = "") -> dict[str, str]:
    """Conditions of the status.parents entry whose parentRef names ``parent``."""
    status = obj.get("status") if isinstance(obj, dict) else None
    for p in (status or {}).get("parents") or []:
        ref = p.get("parentRef") or {}
        if not parent or ref.get("name") == parent:
            return {str(c.get("type")): str(c.get("status")) for c in p.get("conditions") or []}
    return {}


def parent_reasons(obj: Any, parent: str = "") -> dict[str, str]:
    """Like parent_conditions, with ``status (reason): message`` as values, for evidence."""
    status = obj.get("status") if isinstance(obj, dict) else None
    for p in (status or {}).get("parents") or []:
        ref = p.get("parentRef") or {}
        if not parent or ref.get("name") == parent:
            return {str(c.get("type")): _reason(c) for c in p.get("conditions") or []}
    return {}


def _reason(c: dict[str, Any]) -> str:
    text = f"{c.get('status')} ({c.get('reason', '')})"
    return f"{text}: {c['message']}" if c.get("message") else text


def metadata_of(objs: Any, names: Any) -> list[dict[str, Any]]:
    wanted = set(names or [])
    return [o["metadata"] for o in objs or [] if o.get("metadata", {}).get("name") in wanted]


def condition_summary(obj: Any) -> str:
    return ", ".join(f"{c.get('type')}={c.get('status')} ({c.get('reason', '')})" for c in _conditions(obj))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "condition": condition,
            "with_condition": with_condition,
            "parent_conditions": parent_conditions,
            "parent_reasons": parent_reasons,
            "condition_summary": condition_summary,
            "items_with_condition": items_with_condition,
            "label_values": label_values,
            "condition_lines": condition_lines,
            "labels_missing": labels_missing,
            "object_refs": object_refs,
            "ready_node_units": ready_node_units,
            "nodes_with_units": nodes_with_units,
            "metadata_of": metadata_of,
            "namespace_cleanup_checks": namespace_cleanup_checks,
        }
