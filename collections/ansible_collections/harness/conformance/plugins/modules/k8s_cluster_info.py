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
  - On a C(local) connection whose C(ansible_python_interpreter) is the controller's own Python (no
    become, no async, no task environment) the module runs inside the worker process that Ansible
    forks for the task, where the Kubernetes client is already imported, instead of in a new Python
    interpreter. That saves about 0.4 CPU-seconds a call (C(bench/module_overhead.py)).
  - Otherwise the module is shipped and run as M(kubernetes.core.k8s_cluster_info).
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
