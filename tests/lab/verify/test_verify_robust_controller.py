"""Lab: verify_robust_controller against the simulated lab's KubeRay operator.

Healthy: the operator process is alive and healthy (its lab record), the ray.io CRDs are
Established, its webhook denies a RayCluster with two worker groups of one name, and a valid
RayCluster becomes a running head and two workers, state ready. Broken: the operator stopped
(restored afterwards by re-running the lab's sim_controllers role).
"""

from __future__ import annotations

from typing import Any

import pytest

from lab_breakers import assert_evidence, by_name, component_stopped, leftovers, summary
from accel_lab import assert_same_as_golden

pytestmark = pytest.mark.lab

REQ = "robust_controller"


def test_operator_runs_rejects_invalid_and_reconciles(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ)
    assert_same_as_golden(result, run_dir, REQ)
    checks = by_name(result)
    assert result.outcome == "passed", summary(result)
    for name in ("Operator running", "Operator CRDs established", "Webhook rejects an invalid RayCluster",
                 "RayCluster head and worker pods created and running", "RayCluster reconciled to ready"):
        assert checks[name].status == "pass", checks[name]
    assert "vraycluster.kb.io" in checks["Webhook rejects an invalid RayCluster"].observed
    assert checks["RayCluster head and worker pods created and running"].observed == "running pods: head, worker, worker"
    assert_evidence(result, run_dir, REQ)
    assert leftovers(k8s, REQ) == []


def test_stopped_operator_fails_and_the_lab_recovers(lab: Any, run_verify: Any, k8s: Any) -> None:
    with component_stopped(lab.state_dir, "kuberay-operator", "sim_controllers"):
        result, run_dir = run_verify(REQ, verify_robust_controller_reconcile_timeout=20)
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks["Operator running"].status == "fail", checks["Operator running"]
    assert checks["Webhook rejects an invalid RayCluster"].status == "fail"
    assert checks["RayCluster reconciled to ready"].status == "fail"
    assert_evidence(result, run_dir, REQ)
    assert leftovers(k8s, REQ) == []
