"""Lab: verify_ai_service_metrics against the lab's Prometheus and a real model-server backend.

Healthy: a Service annotated prometheus.io/scrape in the role's namespace, with an EndpointSlice
to backend-a (netns harness-sim), is discovered and scraped with the namespace label, and the
request counter grows by at least the requests the role sent. Broken: the annotation names a
port nothing listens on, so the metric never appears.
"""

from __future__ import annotations

from typing import Any

import pytest

from lab_breakers import assert_evidence, by_name, leftovers, summary
from accel_lab import assert_same_as_golden

pytestmark = pytest.mark.lab

REQ = "ai_service_metrics"


def test_workload_metrics_discovered_collected_and_follow_traffic(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ)
    assert_same_as_golden(result, run_dir, REQ)
    checks = by_name(result)
    assert result.outcome == "passed", summary(result)
    for name in ("Prometheus discovers the workload", "Workload metric collected with the namespace label",
                 "Metric value reflects the traffic sent"):
        assert checks[name].status == "pass", checks[name]
    assert "10.250.0.2:8001/metrics health=up" in checks["Prometheus discovers the workload"].observed
    before, after = checks["Metric value reflects the traffic sent"].observed.split(" -> ")
    assert float(after) >= float(before) + 10
    assert_evidence(result, run_dir, REQ)
    assert leftovers(k8s, REQ) == []


def test_wrong_scrape_port_never_yields_the_metric(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ, verify_ai_service_metrics_scrape_port="9",
                                 verify_ai_service_metrics_discovery_timeout=20)
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    collected = checks["Workload metric collected with the namespace label"]
    assert collected.status == "fail", collected
    assert "up=0" in collected.observed
    assert checks["Metric value reflects the traffic sent"].status == "skip"
    assert_evidence(result, run_dir, REQ)
    assert leftovers(k8s, REQ) == []
