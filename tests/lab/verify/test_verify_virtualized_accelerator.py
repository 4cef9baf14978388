"""Lab: verify_virtualized_accelerator against the simulated GPU nodes.

The lab has no vGPU, so the plain run fails. Healthy cases: sim-gpu-1 labelled as a vGPU guest
(vgpu.present, host driver version; restored after), and the DRA path, where the role is told the
simulated devices' brand ("Nvidia") is a vGPU brand and must get one through a claim whose CEL
selector asks for it. Broken: a vGPU node that does not say which host driver it runs on.
"""

from __future__ import annotations

from typing import Any

import pytest

from accel_lab import (assert_evidence, assert_only_hardware_missing, by_name, leftover_namespaces, patched_node,
                       summary, assert_same_as_golden)

pytestmark = pytest.mark.lab

REQ = "virtualized_accelerator"
ADVERTISED = "Virtual GPUs are advertised (vGPU node labels or DRA devices of a vGPU brand)"
HOST_DRIVER = "vGPU nodes report the host vGPU driver version"
POD = "A pod on a vGPU node gets a virtual GPU and runs"
VGPU = {"nvidia.com/vgpu.present": "true", "nvidia.com/vgpu.host-driver-version": "580.95.02"}


def test_lab_without_vgpu_fails(run_verify: Any, k8s: Any) -> None:
    result, _ = run_verify(REQ)
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks[ADVERTISED].status == "fail"
    assert POD not in checks  # nowhere to run it
    assert leftover_namespaces(k8s, REQ) == []


def test_labelled_vgpu_node_runs_a_pod(run_verify: Any, k8s: Any) -> None:
    with patched_node(k8s, "sim-gpu-1", VGPU):
        result, run_dir = run_verify(REQ)
        assert_same_as_golden(result, run_dir, REQ)
    checks = by_name(result)
    assert_only_hardware_missing(result)
    assert checks[HOST_DRIVER].status == "pass" and "580.95.02" in checks[HOST_DRIVER].observed
    assert checks[POD].status == "pass" and "sim-gpu-1" in checks[POD].observed
    hw = checks["The pod's accelerator is a virtual GPU"]
    assert hw.status == "skip" and hw.needs_hardware
    assert_evidence(result, run_dir, REQ, "pod.yaml", "applied.yaml")
    assert leftover_namespaces(k8s, REQ) == []


def test_dra_vgpu_devices_are_claimed(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ, verify_virtualized_accelerator_brand_pattern="^Nvidia$")
    checks = by_name(result)
    assert_only_hardware_missing(result)
    assert checks[POD].status == "pass" and "devices gpu-" in checks[POD].observed
    assert_evidence(result, run_dir, REQ, "resourceclaims.yaml")
    assert leftover_namespaces(k8s, REQ) == []


def test_vgpu_node_without_host_driver_fails(run_verify: Any, k8s: Any) -> None:
    with patched_node(k8s, "sim-gpu-1", {"nvidia.com/vgpu.present": "true"}):
        result, _ = run_verify(REQ)
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks[HOST_DRIVER].status == "fail" and "sim-gpu-1" in checks[HOST_DRIVER].observed
    assert leftover_namespaces(k8s, REQ) == []
