# Copyright: harness developers; Apache-2.0
"""The plan of a parallel verify: each requirement's role and what it holds while it runs.

``verify.yml`` makes one host per requirement from this plan; the gate
(``harness.conformance.verify_gate``) lets each start when what it holds fits beside the others.
"""

from __future__ import annotations

import os
from typing import Any

import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.harness.conformance.plugins.module_utils.quantities import to_int
from ansible_collections.harness.conformance.plugins.module_utils.verify_schedule import (
    ALONE,
    EXCLUSIVE,
    ScheduleError,
    normalise_uses,
)

DOCUMENTATION = r"""
name: verify_plan
short_description: Each requirement's verify role and what it holds while it runs
version_added: "0.4.0"
description:
  - C(ids | harness.conformance.verify_plan(roles_dirs)) gives a dict with C(id), C(role) and C(uses) per requirement.
    C(role) is the first C(<dir>/verify_<id>) that exists ("" when none does); C(uses) comes from the
    role's C(meta/verify.yml) (C(verify_uses)); a role without one runs alone (it holds C(*) exclusively).
  - The plan keeps the given order, except that requirements holding exclusively what others share come last.
  - With I(parallel=false) every requirement runs alone, one after another in order.
  - C(nodes | harness.conformance.accelerator_capacity(slices)) counts the accelerators the cluster
    offers, as the larger of the nodes' allocatable I(resource) and the devices I(driver) publishes
    in ResourceSlices (one GPU may be offered both ways; it is counted once).
positional: _input, roles_dirs
options:
  _input:
    description: Requirement ids in report order (verify_plan), or Node objects (accelerator_capacity).
    type: list
    required: true
  roles_dirs:
    description: Directories searched, in order, for C(verify_<id>).
    type: list
  parallel:
    description: When false, every requirement runs alone.
    type: bool
    default: true
"""

_META = os.path.join("meta", "verify.yml")


def _uses(role: str) -> dict[str, Any]:
    path = os.path.join(role, _META)
    if not os.path.isfile(path):
        return dict(ALONE)
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as e:
        raise AnsibleFilterError(f"{path}: cannot be read as YAML: {e}") from e
    if not isinstance(doc, dict) or "verify_uses" not in doc:
        raise AnsibleFilterError(f"{path}: expected a mapping with the key verify_uses")
    try:
        return normalise_uses(doc["verify_uses"], f"{path}: verify_uses")
    except ScheduleError as e:
        raise AnsibleFilterError(str(e)) from e


def verify_plan(requirements: list[str] | None, roles_dirs: list[str] | None, parallel: bool = True) -> list[dict[str, Any]]:
    plan: list[dict[str, Any]] = []
    for rid in requirements or []:
        rid = str(rid)
        role = next((d for d in (os.path.join(str(r).rstrip("/"), f"verify_{rid}") for r in roles_dirs or [])
                     if os.path.isdir(d)), "")  # fmt: skip
        uses: dict[str, Any] = {} if not role else (_uses(role) if parallel else dict(ALONE))
        plan.append({"id": rid, "role": role, "uses": uses})
    # Whoever holds exclusively what others would share goes last: it waits for them anyway, and at the end
    # it runs on a quieter machine (gpu_sharing first took 20 s of a 500-node verify, contended, while every
    # accelerator role waited; last, 7 s). Those that share start at once, beside those that hold nothing.
    shared = {r for p in plan for r, u in p["uses"].items() if u != EXCLUSIVE}
    return sorted(plan, key=lambda p: any(u == EXCLUSIVE and r in shared for r, u in p["uses"].items()))


def accelerator_capacity(
    nodes: list[dict[str, Any]] | None,
    slices: list[dict[str, Any]] | None = None,
    resource: str = "nvidia.com/gpu",
    driver: str = "gpu.nvidia.com",
) -> int:
    plugin = sum(to_int(((n.get("status") or {}).get("allocatable") or {}).get(resource, 0)) for n in nodes or [])
    dra = sum(len((s.get("spec") or {}).get("devices") or []) for s in slices or []
              if (s.get("spec") or {}).get("driver") == driver)  # fmt: skip
    return max(plugin, dra)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"verify_plan": verify_plan, "accelerator_capacity": accelerator_capacity}
