"""Lab: verify_accelerator_metrics against the simulated DCGM exporter and the lab's Prometheus.

Healthy: the exporter serves utilisation, memory, temperature and power for all 16 simulated
GPUs, Prometheus holds them, the role's GPU pod appears on its GPU's series with its namespace and
pod labels, and the utilisation follows the pod's (annotated) work. Broken: the exporter URL a
closed port, and the exporter itself stopped (restored by re-running the lab's sim_metrics role).
"""

from __future__ import annotations

from typing import Any

import pytest

from lab_breakers import assert_evidence, by_name, component_stopped, leftovers, summary
from accel_lab import assert_same_as_golden

pytestmark = pytest.mark.lab

REQ = "accelerator_metrics"
GPUS = 16  # 2 simulated nodes x 8


def test_metrics_exposed_collected_and_attributed(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ)
    assert_same_as_golden(result, run_dir, REQ)
    checks = by_name(result)
    assert result.outcome == "passed", summary(result)
    for metric in ("DCGM_FI_DEV_GPU_UTIL (utilisation)", "DCGM_FI_DEV_FB_USED (memory used)"):
        check = checks[f"Exporter exposes {metric} per GPU"]
        assert check.status == "pass" and check.required, check
        assert check.observed == f"{GPUS} series for {GPUS} GPUs"
    assert not checks["Exporter exposes DCGM_FI_DEV_POWER_USAGE (power) per GPU"].required
    assert checks["Prometheus has the required accelerator series"].status == "pass"
    assert checks["GPU pod attributed on its GPU's series"].status == "pass"
    assert checks["GPU utilisation changes while the pod works"].observed == "15 -> 85"
    assert "SIMULATED" in result.notes
    assert_evidence(result, run_dir, REQ)
    assert leftovers(k8s, REQ) == []


def test_unreachable_exporter_fails(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ, verify_accelerator_metrics_exporter_url="http://127.0.0.1:9/metrics")
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks["Exporter endpoint answers"].status == "fail", checks["Exporter endpoint answers"]
    assert "unreachable" in checks["Exporter endpoint answers"].message
    assert_evidence(result, run_dir, REQ)
    assert leftovers(k8s, REQ) == []


def test_stopped_exporter_fails_and_the_lab_recovers(lab: Any, run_verify: Any, k8s: Any) -> None:
    with component_stopped(lab.state_dir, "dcgm-exporter", "sim_metrics"):
        result, run_dir = run_verify(REQ, verify_accelerator_metrics_series_timeout=20)
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks["Exporter endpoint answers"].status == "fail", checks["Exporter endpoint answers"]
    # Nothing new reaches Prometheus, so the role's pod never shows up on a GPU series.
    assert checks["GPU pod attributed on its GPU's series"].status == "fail"
    assert_evidence(result, run_dir, REQ)
    assert leftovers(k8s, REQ) == []
