"""Lab: verify_dra_support against the simulated lab's DRA driver and scheduler.

Healthy: resource.k8s.io/v1 is served, the simulated driver's ResourceSlices and the lab's DeviceClass
exist, and the scheduler allocates a published device to a pod's claim; only "the container sees
the device" is left to hardware, so the outcome is incomplete. Broken: the role asks for a
DeviceClass that does not exist. dra_support is in the v1.33-v1.35 checklists only.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from accel_lab import assert_evidence, assert_only_hardware_missing, by_name, leftover_namespaces, summary, assert_same_as_golden

pytestmark = pytest.mark.lab

REQ = "dra_support"
CHECKLIST = "v1.35"


def test_healthy_lab_allocates_a_claim(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ, checklist=CHECKLIST)
    assert_same_as_golden(result, run_dir, REQ)
    checks = by_name(result)
    assert_only_hardware_missing(result)
    for name in ("resource.k8s.io/v1 is served",
                 "DeviceClasses, ResourceClaims, ResourceClaimTemplates and ResourceSlices are listed",
                 "At least one ResourceSlice of driver gpu.nvidia.com publishes devices",
                 "DeviceClass gpu.nvidia.com exists",
                 "The scheduler allocates a device for a claim made from a ResourceClaimTemplate",
                 "The allocated device is one that driver gpu.nvidia.com publishes",
                 "The claim is reserved for the pod that uses it",
                 "The pod using the claim reaches Running"):
        assert checks[name].status == "pass", checks[name]
    hw = checks["The container sees the allocated device"]
    assert hw.status == "skip" and hw.needs_hardware and hw.required
    assert_evidence(result, run_dir, REQ, "resourceslices.yaml", "resourceclaim.yaml", "pod.yaml")
    # The claim saved as evidence is the one the check judged: allocated to a gpu.nvidia.com device.
    claim = yaml.safe_load((run_dir / "evidence" / REQ / "resourceclaim.yaml").read_text())
    results = claim["status"]["allocation"]["devices"]["results"]
    assert results and results[0]["driver"] == "gpu.nvidia.com"
    assert "GPUs on this lab are simulated" in result.notes
    assert leftover_namespaces(k8s, REQ) == []


def test_missing_device_class_fails(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ, checklist=CHECKLIST, verify_dra_support_device_class="nonexistent.example.com")
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks["DeviceClass nonexistent.example.com exists"].status == "fail"
    assert checks["DeviceClass nonexistent.example.com exists"].observed == "absent"
    # The API itself is still fine: only the class is missing.
    assert checks["resource.k8s.io/v1 is served"].status == "pass"
    assert_evidence(result, run_dir, REQ, "deviceclass.yaml")
    assert leftover_namespaces(k8s, REQ) == []
