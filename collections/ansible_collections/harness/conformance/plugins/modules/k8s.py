#!/usr/bin/python
# Copyright: harness developers; Apache-2.0
"""Documentation of ``harness.conformance.k8s``: ``kubernetes.core.k8s``, run in the Ansible worker."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k8s
short_description: M(kubernetes.core.k8s), run inside the Ansible worker on a local connection
description:
  - Takes the options of M(kubernetes.core.k8s) and returns what it returns; it runs that module's own code.
extends_documentation_fragment:
  - harness.conformance.worker_module
author: harness developers
"""

EXAMPLES = r"""
- name: Create a namespace
  harness.conformance.k8s:
    kubeconfig: "{{ harness_kubeconfig }}"
    kind: Namespace
    name: harness-probe
"""

RETURN = r"""
# What M(kubernetes.core.k8s) returns.
"""
