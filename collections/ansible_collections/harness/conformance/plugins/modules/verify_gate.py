#!/usr/bin/python
# Copyright: harness developers; Apache-2.0
"""Documentation of the controller-side action ``harness.conformance.verify_gate``."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: verify_gate
short_description: Wait until a verify role may run beside the others, or mark it done
description:
  - C(harness verify) runs each requirement as its own host of a play with the free strategy. Before a
    role starts, its host waits here until what the role declares it holds
    (C(roles/verify_<id>/meta/verify.yml), see the plan filter C(harness.conformance.verify_plan))
    fits beside the roles already running; afterwards it leaves, and whoever waited may start.
  - Requirements that compete for a resource start in plan order; a role that declares nothing runs alone.
  - An action that runs on the controller only; the gate is a file in the run directory there.
options:
  dir:
    description: Directory holding the gate's state (C(gate.json), C(gate.lock)); one per run.
    type: path
    required: true
  requirement:
    description: The requirement that waits or leaves.
    type: str
    required: true
  state:
    description:
      - C(entered) waits until the requirement may start; C(left) marks it done.
      - C(closed) lets nobody start any more (the run stops); who waits is told so (I(stopped)).
      - C(holding) waits until the running requirement may also hold I(uses), for one phase of its role (the
        C(harness.conformance.probe) role's pods); C(released) gives them back. Leaving releases them too.
    type: str
    choices: [entered, left, closed, holding, released]
    default: entered
  uses:
    description:
      - "What a phase holds beside what the role holds (with I(state=holding)), as in C(meta/verify.yml),
        C({accelerator_probes: exclusive}) for instance. Only the requirements running count."
    type: dict
    default: {}
  reason:
    description: Why the gate closes (with I(state=closed)).
    type: str
    default: ""
  plan:
    description: Every requirement of the run in plan order, as C(harness.conformance.verify_plan) gives it (C(id), C(uses)).
    type: list
    elements: dict
    default: []
  capacity:
    description: Units each resource has, by resource name (16 accelerators, say); a resource not named here has no limit.
    type: dict
    default: {}
  timeout:
    description: Seconds to wait before failing with what it still waits for.
    type: int
    default: 3600
author: harness developers
"""

EXAMPLES = r"""
- name: Verify | Wait for a slot
  harness.conformance.verify_gate:
    dir: "{{ harness_run_dir }}/ansible/gate"
    requirement: gang_scheduling
    plan: "{{ harness_verify_plan }}"
    capacity: {accelerators: 16}

- name: Probe | Hold the accelerator probes while the probe pods exist
  harness.conformance.verify_gate:
    dir: "{{ harness_verify_gate_dir }}"
    requirement: "{{ harness_requirement }}"
    state: holding
    uses: {accelerator_probes: exclusive}
"""

RETURN = r"""
stopped:
  description: The gate closed while the requirement waited; it must not start.
  type: bool
  returned: when state is entered or holding
waited_s:
  description: Seconds the requirement waited at the gate.
  type: float
  returned: when state is entered or holding
waited_for:
  description: What it first waited for ("" when it started at once).
  type: str
  returned: when state is entered or holding
"""

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.fail_json(msg="harness.conformance.verify_gate runs on the controller (its action plugin); it has no remote part")


if __name__ == "__main__":
    main()
