"""Lab: verify_secure_accelerator_access against the simulated lab (DRA driver and device plugin).

Healthy: both mechanisms are exercised; two claimed pods get different devices, each claim is
reserved only for its pod, the unclaimed pod and container get nothing, the device-plugin pods
behave, and admission adds nothing privileged. A probe pod without a request really runs on the
lab's real node and sees no /dev/nvidia* and no nvidia-smi; what a container with an accelerator
sees is left to hardware (no node that runs containers has one here).

Broken, for real, in the runtime: the real node's runtime hands every container /dev/nvidia0; the
pod that asked for nothing sees it, and the requirement fails.

Broken, for real: a driver that publishes one physical GPU twice. The test adds a ResourceSlice of
another driver name that republishes sim-gpu-0's first GPU under the same UUID, and a DeviceClass
that selects only that UUID; the scheduler then hands the "two" devices to the two claimed pods,
and the role must notice they are one GPU. Both objects are removed afterwards (the lab's own
DeviceClass selects only driver gpu.nvidia.com, so nobody else's claim can land on the copy).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from accel_lab import assert_evidence, assert_only_hardware_missing, by_name, leftover_namespaces, summary, assert_same_as_golden
from node_breakers import leaky_runtime

pytestmark = pytest.mark.lab

REQ = "secure_accelerator_access"
DISTINCT = "DRA: two pods' claims get different physical devices"
GROUP, VERSION = "resource.k8s.io", "v1"
DUP = "harness-test-dup"
UNREQUESTED = "A pod without a request on harness-node sees no accelerator (any)"
HARDWARE = "A container with an accelerator sees exactly the ones allocated to it"


def test_healthy_lab_isolates_accelerators(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ)
    assert_same_as_golden(result, run_dir, REQ)
    checks = by_name(result)
    assert_only_hardware_missing(result)
    for name in ("DRA: DeviceClass gpu.nvidia.com exists and driver gpu.nvidia.com publishes devices",
                 "DRA: the claimed pods and the unclaimed pod run",
                 "DRA: every claim is allocated exactly one device", DISTINCT,
                 "DRA: each claim is reserved only for the pod that claims it",
                 "DRA: a pod without a claim gets no device",
                 "DRA: in a two-container pod only the container that references the claim gets it",
                 "Device plugin: nodes advertise allocatable nvidia.com/gpu",
                 "Device plugin: a pod requesting one nvidia.com/gpu and a pod requesting none run",
                 "Device plugin: a pod without a request is given no nvidia.com/gpu",
                 "Device plugin: no node has more nvidia.com/gpu requested than it can allocate",
                 "Admitted test pods are not privileged and mount no /dev/nvidia* host path"):
        assert checks[name].status == "pass", checks[name]
    hw = checks[HARDWARE]
    assert hw.status == "skip" and hw.needs_hardware and hw.required
    assert "no node that runs containers offers an accelerator" in hw.message
    # The negative case ran for real in a container on the real node.
    assert checks[UNREQUESTED].status == "pass", checks[UNREQUESTED]
    assert checks[UNREQUESTED].observed == "0 device node(s); nvidia-smi absent"
    assert "GPU-" in checks[DISTINCT].observed  # compared by UUID, not only by device name
    assert_evidence(result, run_dir, REQ, "pods.yaml", "resourceclaims.yaml", "applied-dra.yaml", "probes.yaml")
    assert leftover_namespaces(k8s, REQ) == []


@pytest.fixture
def duplicated_gpu(k8s: Any) -> Iterator[str]:
    """A second ResourceSlice republishing sim-gpu-0's gpu-0 (same UUID), and a class selecting that UUID."""
    custom = client.CustomObjectsApi(k8s)
    original: Any = custom.get_cluster_custom_object(GROUP, VERSION, "resourceslices", "sim-gpu-0-gpu-nvidia-com")
    device = original["spec"]["devices"][0]
    uuid = device["attributes"]["uuid"]["string"]
    domain = original["spec"]["driver"]
    copy = {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "ResourceSlice",
        "metadata": {"name": DUP, "labels": {"harness.dev/test": "duplicate-device"}},
        "spec": {"driver": "dup.harness.dev", "nodeName": "sim-gpu-0",
                 "pool": {"name": "sim-gpu-0-dup", "generation": 1, "resourceSliceCount": 1},
                 # Qualified names keep the attributes in the real driver's domain, as a double publication would.
                 "devices": [{"name": device["name"],
                              "attributes": {f"{domain}/uuid": {"string": uuid}, f"{domain}/type": {"string": "gpu"}}}]},
    }
    device_class = {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "DeviceClass",
        "metadata": {"name": DUP, "labels": {"harness.dev/test": "duplicate-device"}},
        "spec": {"selectors": [{"cel": {"expression":
            f"'uuid' in device.attributes['{domain}'] && device.attributes['{domain}'].uuid == '{uuid}'"}}]},
    }
    custom.create_cluster_custom_object(GROUP, VERSION, "resourceslices", copy)
    try:
        custom.create_cluster_custom_object(GROUP, VERSION, "deviceclasses", device_class)
        yield uuid
    finally:
        for plural in ("deviceclasses", "resourceslices"):
            try:
                custom.delete_cluster_custom_object(GROUP, VERSION, plural, DUP)
            except ApiException as exc:
                if exc.status != 404:
                    raise


def test_one_gpu_published_twice_is_caught(run_verify: Any, k8s: Any, duplicated_gpu: str) -> None:
    # Only two devices match, so the third (multi-container) claim cannot be satisfied: a short timeout.
    result, run_dir = run_verify(REQ, verify_secure_accelerator_access_device_class=DUP,
                                 verify_secure_accelerator_access_mode="dra",
                                 verify_secure_accelerator_access_timeout=20)
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks[DISTINCT].status == "fail"
    assert duplicated_gpu in checks[DISTINCT].observed
    assert "share a device" in checks[DISTINCT].message
    assert checks["DRA: a pod without a claim gets no device"].status == "pass"
    assert_evidence(result, run_dir, REQ, "resourceclaims.yaml")
    assert leftover_namespaces(k8s, REQ) == []


def test_missing_device_class_fails(run_verify: Any) -> None:
    result, _ = run_verify(REQ, verify_secure_accelerator_access_device_class="nonexistent.example.com")
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    check = checks["DRA: DeviceClass nonexistent.example.com exists and driver gpu.nvidia.com publishes devices"]
    assert check.status == "fail"
    assert "absent" in check.observed


def test_runtime_leaking_a_gpu_into_every_container_fails(run_verify: Any, k8s: Any, lab: Any, tmp_path: Any) -> None:
    with leaky_runtime(tmp_path, lab.vars):
        result, _ = run_verify(REQ)
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    leak = checks[UNREQUESTED]
    assert leak.status == "fail", leak
    assert leak.observed.startswith("1 device node(s) nvidia0")
    assert leftover_namespaces(k8s, REQ) == []
