#!/usr/bin/python
# Copyright: harness developers; Apache-2.0
"""Documentation of the controller-side action ``harness.conformance.accelerator_count``."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: accelerator_count
short_description: Count the accelerators a cluster has, from its Nodes and ResourceSlices
description:
  - Reads every Node and every C(resource.k8s.io/v1) ResourceSlice and returns how many accelerators they
    offer; the larger of the nodes' allocatable I(resource) and the devices I(driver)'s slices publish
    (one GPU often shows up both ways), as the filter C(harness.conformance.accelerator_capacity) counts.
  - The lists never become Ansible variables; on a 500-node cluster they are megabytes, for one number.
  - An action that runs on the controller, with the kubeconfig there; a cluster without DRA has no slices.
options:
  kubeconfig:
    description: Path of the kubeconfig on the controller.
    type: path
    required: true
  resource:
    description: The device plugin's extended resource.
    type: str
    default: nvidia.com/gpu
  driver:
    description: The DRA driver whose devices are accelerators.
    type: str
    default: gpu.nvidia.com
  request_timeout:
    description: Seconds each request to the API server may take.
    type: int
    default: 60
author: harness developers
"""

EXAMPLES = r"""
- name: Plan | Count the accelerators the roles share
  harness.conformance.accelerator_count:
    kubeconfig: "{{ harness_kubeconfig }}"
  register: harness_capacity
"""

RETURN = r"""
accelerators:
  description: Accelerators the cluster offers (0 when none).
  type: int
  returned: success
nodes:
  description: Nodes read.
  type: int
  returned: success
slices:
  description: ResourceSlices read.
  type: int
  returned: success
"""

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.fail_json(msg="harness.conformance.accelerator_count runs on the controller (its action plugin); it has no remote part")


if __name__ == "__main__":
    main()
