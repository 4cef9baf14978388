# Copyright: harness developers; Apache-2.0
"""Action for ``harness.conformance.k8s_cluster_info``: ``kubernetes.core.k8s_cluster_info`` run in the worker on a local connection."""

from __future__ import annotations

from ansible_collections.harness.conformance.plugins.plugin_utils.worker_module import WorkerAction


class ActionModule(WorkerAction):
    UPSTREAM = "kubernetes.core.k8s_cluster_info"
