"""Lab: verify_gpu_sharing against the simulated GPU nodes.

The lab advertises no sharing mechanism (labels say sharing-strategy none, replicas 1), so the
plain run fails, which is the honest result. The healthy case makes sim-gpu-0 look like a node the
GPU Operator time-sliced with 4 replicas (labels, and allocatable 8 x 4 = 32) and restores it after:
the role must find it, check the arithmetic and run 9 one-unit pods on its 8 GPUs. A node whose
labels claim time-slicing but whose allocatable was never multiplied fails.
"""

from __future__ import annotations

from typing import Any

import pytest

from accel_lab import (assert_evidence, assert_only_hardware_missing, by_name, leftover_namespaces, patched_node,
                       summary, assert_same_as_golden)

pytestmark = pytest.mark.lab

REQ = "gpu_sharing"
ADVERTISED = "A GPU sharing mechanism is advertised (time-slicing/MPS replicas, MIG, or shareable DRA devices)"
ARITHMETIC = "Time-sliced nodes advertise GPUs x replicas shared units"
OVERSUBSCRIBED = "More one-unit pods than physical GPUs run on a time-sliced node"
TIME_SLICED = {"nvidia.com/gpu.sharing-strategy": "time-slicing", "nvidia.com/gpu.replicas": "4"}


def test_lab_without_sharing_fails(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ)
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks[ADVERTISED].status == "fail"
    assert checks[ADVERTISED].message == "no sharing mechanism found"
    assert_evidence(result, run_dir, REQ, "nodes.yaml")
    assert leftover_namespaces(k8s, REQ) == []


def test_time_sliced_node_shares_its_gpus(run_verify: Any, k8s: Any) -> None:
    with patched_node(k8s, "sim-gpu-0", TIME_SLICED, {"nvidia.com/gpu": "32"}):
        result, run_dir = run_verify(REQ)
        assert_same_as_golden(result, run_dir, REQ)
    checks = by_name(result)
    assert_only_hardware_missing(result)
    assert checks[ADVERTISED].status == "pass"
    assert "sim-gpu-0: 8 GPUs x 4 = 32 nvidia.com/gpu" in checks[ARITHMETIC].observed
    assert checks[OVERSUBSCRIBED].status == "pass" and checks[OVERSUBSCRIBED].observed == "9 Running"
    hw = checks["Pods given shared units run concurrently on the same physical GPU"]
    assert hw.status == "skip" and hw.needs_hardware
    assert_evidence(result, run_dir, REQ, "pods.yaml")
    assert leftover_namespaces(k8s, REQ) == []


def test_labels_without_replicated_allocatable_fail(run_verify: Any, k8s: Any) -> None:
    with patched_node(k8s, "sim-gpu-0", TIME_SLICED):
        result, _ = run_verify(REQ, verify_gpu_sharing_timeout=20)
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks[ARITHMETIC].status == "fail"
    assert "expected 8 x 4" in checks[ARITHMETIC].observed
    assert checks[OVERSUBSCRIBED].status == "fail"  # the 9th pod finds no unit
    assert leftover_namespaces(k8s, REQ) == []
