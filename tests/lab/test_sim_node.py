"""Lab: the real node (roles/sim_node): a kubelet on containerd where containers really run.

The node is Ready next to the kwok GPU nodes, tainted so that only pods that opt in land there,
with the lab's own pause and probe images imported; a runc pod really runs there and its log is
read through the API server; gVisor runs a pod on its own kernel. `harness down` leaving nothing
of it behind is checked by test_sim_lab's teardown test.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from harness.simlab.status import read_components
from lab_fixtures import SimLab

pytestmark = pytest.mark.lab

NODE = "harness-node"
TOLERATE = [{"key": "harness.dev/real-node", "operator": "Exists", "effect": "NoSchedule"}]


@pytest.fixture
def namespace(k8s: client.ApiClient) -> Iterator[str]:
    core: Any = client.CoreV1Api(k8s)
    name = f"harness-node-test-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name, "labels": {"harness.dev/test": "sim-node"}}})
    deadline = time.monotonic() + 60
    while not core.list_namespaced_service_account(name, field_selector="metadata.name=default").items:
        assert time.monotonic() < deadline, "no default ServiceAccount"
        time.sleep(0.5)
    yield name
    core.delete_namespace(name)


def probe_image(k8s: client.ApiClient) -> str:
    node: Any = client.CoreV1Api(k8s).read_node(NODE)
    names = [n for img in node.status.images or [] for n in img.names or [] if n.startswith("harness.local/probe:")]
    assert names, "the probe image is not on the node"
    return str(names[0])


def run_pod(k8s: client.ApiClient, namespace: str, name: str, command: str, runtime_class: str | None = None) -> str:
    """Run a pod on the real node to completion; return its log."""
    core: Any = client.CoreV1Api(k8s)
    spec: dict[str, Any] = {"restartPolicy": "Never", "automountServiceAccountToken": False, "tolerations": TOLERATE,
                            "nodeSelector": {"kubernetes.io/hostname": NODE},
                            "containers": [{"name": "main", "image": probe_image(k8s), "command": ["/bin/sh", "-c", command]}]}
    if runtime_class:
        spec["runtimeClassName"] = runtime_class
    core.create_namespaced_pod(namespace, {"metadata": {"name": name}, "spec": spec})
    deadline = time.monotonic() + 120
    while (phase := core.read_namespaced_pod(name, namespace).status.phase) not in ("Succeeded", "Failed"):
        assert time.monotonic() < deadline, f"pod {name} still {phase}"
        time.sleep(1)
    assert phase == "Succeeded"
    return str(core.read_namespaced_pod_log(name, namespace))


def test_node_is_ready_tainted_and_runs_containerd(lab: SimLab, k8s: client.ApiClient) -> None:
    node: Any = client.CoreV1Api(k8s).read_node(NODE)
    assert [c.status for c in node.status.conditions if c.type == "Ready"] == ["True"]
    assert node.status.node_info.container_runtime_version == "containerd://2.4.2"
    assert node.status.node_info.kubelet_version == lab.vars.get("sim_lab_kubernetes_version", "v1.37.2")
    assert node.metadata.labels["harness.dev/real-node"] == "true"
    assert "kwok.x-k8s.io/node" not in (node.metadata.annotations or {})
    assert [(t.key, t.effect) for t in node.spec.taints or []] == [("harness.dev/real-node", "NoSchedule")]
    images = {n for img in node.status.images or [] for n in img.names or []}
    assert any(n.startswith("harness.local/pause:") for n in images), images
    comps = {c.name: c for c in read_components(lab.state_dir)}
    assert comps["kubelet"].state == "running" and NODE in comps["kubelet"].version
    assert comps["containerd"].state == "running"


def test_a_runc_pod_really_runs_and_its_log_is_read(k8s: client.ApiClient, namespace: str) -> None:
    log = run_pod(k8s, namespace, "runc", "echo hello from $(uname -r); ls /dev")
    assert f"hello from {os.uname().release}" in log  # the host's kernel: runc shares it
    assert "nvidia" not in log


def test_gvisor_runs_a_pod_on_its_own_kernel(k8s: client.ApiClient, namespace: str) -> None:
    rc: Any = client.NodeV1Api(k8s).read_runtime_class("gvisor")
    assert rc.handler == "runsc" and rc.scheduling.node_selector == {"harness.dev/real-node": "true"}
    log = run_pod(k8s, namespace, "gvisor", "uname -r", runtime_class="gvisor")
    assert log.strip().endswith("gvisor") and log.strip() != os.uname().release
