# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Which RuntimeClasses are sandboxes (``verify_workload_sandboxing``): the ones named in the inventory,
or else those whose handler matches a known sandbox runtime (runsc/gvisor, kata; ``*`` is a wildcard).
Whether a pod of that class really runs on its own kernel is the probe's part (``probes.sandbox_checks``).

The role's two judged steps come from here whole, for ``harness.conformance.evidence``'s ``step:``
(title, command, output, checks, files, facts): ``sandbox_class_step`` from the role's one read (a
``k8s_info`` loop over the RuntimeClasses and the nodes that run containers, its items named by
``id``), and ``sandbox_probe_step`` from what the probe pods reported. The role's tasks only pass
values along."""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.harness.conformance.plugins.filter.probes import container_nodes, sandbox_checks

DOCUMENTATION = r"""
name: sandbox_runtime_classes
short_description: The RuntimeClasses that name a sandbox runtime
version_added: "0.3.0"
description:
  - C(runtimeclasses | harness.conformance.sandbox_runtime_classes(names, handlers)) returns, sorted by name,
    C({name, handler, scheduling, overhead}) of each RuntimeClass named in I(names), or, when I(names) is empty,
    of each whose handler matches one of I(handlers) (C(*) matches anything).
positional: _input
options:
  _input:
    description: RuntimeClass objects.
    type: list
    required: true
  names:
    description: RuntimeClass names the platform documents as sandboxes (empty to decide by handler).
    type: list
  handlers:
    description: Handler names of sandbox runtimes; C(*) is a wildcard.
    type: list
notes:
  - "C(reads | harness.conformance.sandbox_class_step(settings)) is the step that finds the sandbox RuntimeClass;
    its C(facts) carry C(runtime_class) (the first found, '' when none) and C(real_nodes)."
  - "C(probe_results | harness.conformance.sandbox_probe_step(reads, runtime_class, settings)) judges the
    sandboxed pod against the runc baseline (C(probes.sandbox_checks))."
"""


def _handler_patterns(handlers: list[str]) -> list[re.Pattern[str]]:
    return [re.compile("^" + re.escape(str(h)).replace("\\*", ".*") + "$") for h in handlers or []]


def sandbox_runtime_classes(rcs: list[dict[str, Any]], names: list[str] | None,
                            handlers: list[str] | None) -> list[dict[str, Any]]:  # fmt: skip
    patterns = _handler_patterns(handlers or [])
    out = []
    for rc in sorted(rcs or [], key=lambda r: r["metadata"]["name"]):
        handler = rc.get("handler", "")
        named = rc["metadata"]["name"] in (names or [])
        if named or (not names and any(p.match(handler) for p in patterns)):
            out.append({"name": rc["metadata"]["name"], "handler": handler,
                        "scheduling": rc.get("scheduling", {}), "overhead": rc.get("overhead", {})})  # fmt: skip
    return out


def _read(results: list[dict[str, Any]] | None, read_id: str) -> list[dict[str, Any]]:
    """The objects one item of a ``k8s_info`` loop read (items name their read with ``id``)."""
    for r in results or []:
        if (r.get("item") or {}).get("id") == read_id:
            return list(r.get("resources") or [])
    return []


def sandbox_class_step(reads: list[dict[str, Any]] | None, settings: dict[str, Any]) -> dict[str, Any]:
    """The RuntimeClasses, which of them sandbox (``settings``: ``runtime_classes``, ``handlers``), and the
    check that one does. The facts say which class the probe uses and which nodes really run containers
    (a sandboxed pod elsewhere cannot be probed)."""
    rcs = _read(reads, "runtimeclasses")
    names, handlers = list(settings.get("runtime_classes") or []), list(settings.get("handlers") or [])
    classes = sandbox_runtime_classes(rcs, names, handlers)
    if classes:
        observed: Any = [f"{c['name']} (handler {c['handler']})" for c in classes]
    else:
        observed = [r["metadata"]["name"] for r in rcs] or "no RuntimeClass"
    return {
        "title": "A sandbox RuntimeClass exists",
        "command": "kubectl get runtimeclasses",
        "output": {"runtimeclasses": {r["metadata"]["name"]: r.get("handler", "") for r in rcs},
                   "sandbox": [c["name"] for c in classes]},
        "files": [{"name": "runtimeclasses.yaml", "data": rcs}],
        "checks": [{"name": "A sandbox RuntimeClass exists", "status": "pass" if classes else "fail",
                    "expected": (f"RuntimeClass {' or '.join(names)}" if names
                                 else f"a RuntimeClass whose handler is one of {', '.join(handlers)}"),
                    "observed": observed, "message": "" if classes else "no sandbox RuntimeClass"}],
        "facts": {"runtime_class": classes[0]["name"] if classes else "", "real_nodes": container_nodes(_read(reads, "nodes"))},
    }  # fmt: skip


def sandbox_probe_step(results: dict[str, Any] | None, reads: list[dict[str, Any]] | None, runtime_class: str,
                       settings: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The sandboxed pod judged against the runc pod on the same node (``probes.sandbox_checks``), and
    against the kernelVersion of the node it ran on. The sandboxed pod comes first, then the baseline."""
    res = results or {}
    ordered = {k: res[k] for k in ("sandboxed", "baseline") if k in res} | {k: v for k, v in res.items() if k not in ("sandboxed", "baseline")}
    nodes = _read(reads, "nodes")
    node = (res.get("sandboxed") or {}).get("node") or ""
    kernel = next((((n.get("status") or {}).get("nodeInfo") or {}).get("kernelVersion", "")
                   for n in nodes if n["metadata"]["name"] == node), "")  # fmt: skip
    ns = settings["namespace"]
    return {
        "title": "A pod in the sandbox runs on its own kernel",
        "command": f"kubectl -n {ns} logs sandboxed; kubectl -n {ns} logs baseline",
        "output": ordered,
        "files": [{"name": "probes.yaml", "data": ordered}],
        "checks": sandbox_checks(ordered, "sandboxed", "baseline", runtime_class, container_nodes(nodes), kernel),
    }


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "sandbox_runtime_classes": sandbox_runtime_classes,
            "sandbox_class_step": sandbox_class_step,
            "sandbox_probe_step": sandbox_probe_step,
        }
