#!/usr/bin/python
# Copyright: harness developers; Apache-2.0
"""Documentation of ``harness.conformance.k8s_log``: ``kubernetes.core.k8s_log``, run in the Ansible worker."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k8s_log
short_description: M(kubernetes.core.k8s_log), run inside the Ansible worker on a local connection
description:
  - Takes the options of M(kubernetes.core.k8s_log) and returns what it returns; it runs that module's own code.
extends_documentation_fragment:
  - harness.conformance.worker_module
author: harness developers
"""

EXAMPLES = r"""
- name: Read a probe's log
  harness.conformance.k8s_log:
    kubeconfig: "{{ harness_kubeconfig }}"
    namespace: harness-probe
    name: probe
"""

RETURN = r"""
# What M(kubernetes.core.k8s_log) returns.
"""
