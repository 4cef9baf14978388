# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Which RuntimeClasses are sandboxes (``verify_workload_sandboxing``): the ones named in the inventory,
or else those whose handler matches a known sandbox runtime (runsc/gvisor, kata; ``*`` is a wildcard).
Whether a pod of that class really runs on its own kernel is the probe's part (``probes.sandbox_checks``)."""

from __future__ import annotations

import re
from typing import Any

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


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"sandbox_runtime_classes": sandbox_runtime_classes}
