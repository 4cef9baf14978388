# Copyright: harness developers; Apache-2.0
"""What harness.conformance.k8s, k8s_info, k8s_log and k8s_cluster_info share: where their module runs."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
notes:
  - On a C(local) connection whose C(ansible_python_interpreter) is the controller's own Python (no
    become, no async, no task environment) the module runs inside the worker process that Ansible
    forks for the task, where the Kubernetes client is already imported, instead of in a new Python
    interpreter. That saves about 0.4 CPU-seconds a call (C(bench/module_overhead.py)).
  - Otherwise kubernetes.core's module of the same name is shipped and run as usual.
"""
