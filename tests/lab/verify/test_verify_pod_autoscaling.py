"""Lab: verify_pod_autoscaling against the simulated lab's prometheus-adapter.

Healthy: custom.metrics.k8s.io is served, an HPA on the Pods metric DCGM_FI_DEV_GPU_UTIL scales a
GPU Deployment from 1 up (the simulated exporter reports the utilisation the role sets on the pod
template) and back down. Broken: a metric name the adapter does not serve.
"""

from __future__ import annotations

from typing import Any

import pytest

from lab_breakers import assert_evidence, by_name, leftovers, summary
from accel_lab import assert_same_as_golden

pytestmark = pytest.mark.lab

REQ = "pod_autoscaling"


def test_hpa_scales_up_and_down_on_gpu_utilisation(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ)
    assert_same_as_golden(result, run_dir, REQ)
    checks = by_name(result)
    assert result.outcome == "passed", summary(result)
    for name in ("Custom metrics API served", "GPU Deployment available", "HPA reads the custom metric",
                 "HPA scales up on a high metric", "HPA scales down on a low metric"):
        assert checks[name].status == "pass", checks[name]
    assert checks["HPA scales up on a high metric"].observed.startswith(("desired 2", "desired 3"))
    assert checks["HPA scales down on a low metric"].observed.startswith("desired 1, deployment 1")
    assert_evidence(result, run_dir, REQ)
    assert (run_dir / "evidence" / REQ / "scale-up-observed.yaml").is_file()
    assert leftovers(k8s, REQ) == []


def test_metric_the_adapter_does_not_serve_fails(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ, verify_pod_autoscaling_metric_name="harness_no_such_metric",
                                 verify_pod_autoscaling_metric_timeout=30)
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks["HPA reads the custom metric"].status == "fail", checks["HPA reads the custom metric"]
    assert "harness_no_such_metric" in checks["HPA reads the custom metric"].observed
    assert checks["HPA scales up on a high metric"].status == "skip"
    assert_evidence(result, run_dir, REQ)
    assert leftovers(k8s, REQ) == []
