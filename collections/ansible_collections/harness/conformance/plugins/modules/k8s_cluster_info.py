#!/usr/bin/python
# Copyright: harness developers; Apache-2.0
"""Documentation of ``harness.conformance.k8s_cluster_info``: ``kubernetes.core.k8s_cluster_info``, run in the Ansible worker."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: k8s_cluster_info
short_description: M(kubernetes.core.k8s_cluster_info), run inside the Ansible worker on a local connection
description:
  - Takes the options of M(kubernetes.core.k8s_cluster_info) and returns what it returns; it runs that module's own code.
extends_documentation_fragment:
  - harness.conformance.worker_module
author: harness developers
"""

EXAMPLES = r"""
- name: Read the API server's version
  harness.conformance.k8s_cluster_info:
    kubeconfig: "{{ harness_kubeconfig }}"
"""

RETURN = r"""
# What M(kubernetes.core.k8s_cluster_info) returns.
"""
