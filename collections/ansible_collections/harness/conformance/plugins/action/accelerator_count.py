# Copyright: harness developers; Apache-2.0
"""Action for ``harness.conformance.accelerator_count``: how many accelerators the cluster has, read on the
controller.

The plan of ``harness verify`` needs one number from every Node and ResourceSlice. Read through
``k8s_info``, a 500-node lab's lists are megabytes that Ansible copies into a registered variable and
templates again, for one sum, before any role may start. Here they stay in this worker.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.harness.conformance.plugins.filter.verify_plan import accelerator_capacity

ARGUMENT_SPEC: dict[str, Any] = {
    "kubeconfig": {"type": "path", "required": True},
    "resource": {"type": "str", "default": "nvidia.com/gpu"},
    "driver": {"type": "str", "default": "gpu.nvidia.com"},
    "request_timeout": {"type": "int", "default": 60},
}


def _items(response: Any) -> list[dict[str, Any]]:
    return list(json.loads(response.data).get("items") or [])


def read_and_count(kubeconfig: str, resource: str, driver: str, timeout: int) -> dict[str, int]:
    """``{accelerators, nodes, slices}``; a cluster that does not serve resource.k8s.io/v1 has no slices."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    api = config.new_client_from_config(config_file=kubeconfig)
    try:
        # resourceVersion "0": from the API server's watch cache, not read through from etcd
        nodes = _items(client.CoreV1Api(api).list_node(resource_version="0", _preload_content=False,
                                                       _request_timeout=timeout))  # fmt: skip
        try:
            slices = _items(client.CustomObjectsApi(api).list_cluster_custom_object(
                "resource.k8s.io", "v1", "resourceslices", resource_version="0", _preload_content=False,
                _request_timeout=timeout))  # fmt: skip
        except ApiException as e:
            if e.status != 404:
                raise
            slices = []
    finally:
        api.close()
    return {"accelerators": accelerator_capacity(nodes, slices, resource, driver), "nodes": len(nodes),
            "slices": len(slices)}  # fmt: skip


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True  # it only reads

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if not os.path.isfile(args["kubeconfig"]):
            raise AnsibleActionFail(f"no kubeconfig at {args['kubeconfig']}: bring the lab up, or name the cluster's kubeconfig")
        try:
            counted = read_and_count(args["kubeconfig"], args["resource"], args["driver"], args["request_timeout"])
        except Exception as e:  # the client raises many kinds (connection, TLS, kubeconfig); say which
            raise AnsibleActionFail(f"could not count the accelerators through {args['kubeconfig']}: "
                                    f"{type(e).__name__}: {str(e)[:500]}") from e  # fmt: skip
        result.update(changed=False, **counted)
        return result
