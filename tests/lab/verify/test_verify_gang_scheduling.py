"""Lab: verify_gang_scheduling against the simulated lab's Kueue (upstream TestGangScheduling).

Healthy: a 2-pod Job that fits the 8-GPU ClusterQueue is admitted, every pod is bound and the Job
completes (kwok stages end its pods); a 9-pod Job gets no pod at all during the window. Broken:
the Jobs name a queue that does not exist, and Kueue itself stopped (restored afterwards by
re-running the lab's sim_controllers role): the Job that fits is never admitted.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from kubernetes import client

from lab_breakers import assert_evidence, by_name, component_stopped, leftovers, summary
from accel_lab import assert_same_as_golden

pytestmark = pytest.mark.lab

REQ = "gang_scheduling"
POS_ADMITTED = "PositiveGangScheduling: Job admitted by the gang scheduler"


def leftover_queues(k8s: Any) -> list[str]:
    """The role's cluster-scoped Kueue objects (labelled with the requirement) still there."""
    custom = client.CustomObjectsApi(k8s)
    names = []
    for plural in ("clusterqueues", "resourceflavors"):
        items = cast(dict[str, Any], custom.list_cluster_custom_object(
            "kueue.x-k8s.io", "v1beta2", plural, label_selector=f"harness.dev/requirement={REQ}"))
        names += [f"{plural}/{o['metadata']['name']}" for o in items.get("items", [])]
    return names


def test_positive_and_negative_gang_scheduling(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ)
    assert_same_as_golden(result, run_dir, REQ)
    checks = by_name(result)
    assert result.outcome == "passed", summary(result)
    for name in (POS_ADMITTED,
                 "PositiveGangScheduling: Job unsuspended and every pod bound to a node",
                 "PositiveGangScheduling: Job completes",
                 "PositiveGangScheduling: Job labels preserved",
                 "NegativeGangScheduling: no pod bound during the window",
                 "NegativeGangScheduling: Job stays suspended, not admitted",
                 "NegativeGangScheduling: Job labels preserved"):
        assert checks[name].status == "pass", checks[name]
    assert checks["PositiveGangScheduling: Job unsuspended and every pod bound to a node"].observed.startswith(
        "suspend=False, 2 bound")
    assert checks["NegativeGangScheduling: no pod bound during the window"].observed.startswith("0 bound (0 pods exist)")
    assert "simulated" in result.notes
    assert_evidence(result, run_dir, REQ)
    assert leftovers(k8s, REQ) == []
    assert leftover_queues(k8s) == []


def test_queue_that_does_not_exist_is_never_admitted(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ, verify_gang_scheduling_job_queue_name="harness-no-such-queue",
                                 verify_gang_scheduling_admit_timeout=20)
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks[POS_ADMITTED].status == "fail", checks[POS_ADMITTED]
    assert "harness-no-such-queue" in checks[POS_ADMITTED].observed
    # Not admitted, so never bound nor complete: those checks were not reached.
    assert checks["PositiveGangScheduling: Job completes"].status == "skip"
    assert_evidence(result, run_dir, REQ)
    assert leftovers(k8s, REQ) == []
    assert leftover_queues(k8s) == []


def test_stopped_kueue_fails_and_the_lab_recovers(lab: Any, run_verify: Any, k8s: Any) -> None:
    with component_stopped(lab.state_dir, "kueue", "sim_controllers"):
        result, run_dir = run_verify(REQ, verify_gang_scheduling_admit_timeout=20)
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    # Kueue's webhooks cannot be called, so its objects and the queued Jobs are refused.
    assert checks[POS_ADMITTED].status == "fail", checks[POS_ADMITTED]
    assert checks["Queue objects accepted and ClusterQueue active"].status == "fail"
    assert_evidence(result, run_dir, REQ)
    assert leftovers(k8s, REQ) == []
