"""Lab: verify_disaggregated_inference deploys a prefill/decode pair on the simulated GPU nodes.

Healthy: both parts run as separate pods on GPU nodes holding a GPU each; the request through
the pair and the KV transfer need real hardware, so the outcome is exactly `incomplete`.
Broken: decode pods must run on nodes that do not exist, so the pair never becomes available.
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from harness.results import Check, RequirementResult
from accel_lab import assert_same_as_golden

pytestmark = pytest.mark.lab

REQ = "disaggregated_inference"
SIMULATABLE = ("Prefill and decode Deployments become available", "Prefill and decode run in separate pods",
               "Prefill and decode pods run on GPU nodes with GPUs allocated")


def by_name(result: RequirementResult) -> dict[str, Check]:
    return {c.name: c for c in result.checks}


def leftover_namespaces(k8s: Any) -> list[str]:
    items = client.CoreV1Api(k8s).list_namespace(label_selector=f"harness.dev/requirement={REQ}").items
    return [str(ns.metadata.name) for ns in items if ns.metadata]


def test_prefill_and_decode_run_apart_on_gpu_nodes(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ)
    assert_same_as_golden(result, run_dir, REQ)
    checks = by_name(result)
    assert result.outcome == "incomplete", [(c.name, c.status, c.observed) for c in result.checks]
    for name in SIMULATABLE:
        assert checks[name].status == "pass", checks[name]
    hardware = [c for c in result.checks if c.needs_hardware]
    assert len(hardware) == 2 and all(c.status == "skip" and c.required for c in hardware)
    assert result.needs_hardware and "simulated" in result.notes.lower()
    assert "sim-gpu-" in checks["Prefill and decode pods run on GPU nodes with GPUs allocated"].observed
    for rel in result.evidence:
        assert (run_dir / rel).is_file(), rel
    assert leftover_namespaces(k8s) == []


def test_decode_on_missing_nodes_fails(run_verify: Any, k8s: Any) -> None:
    result, _ = run_verify(REQ, verify_disaggregated_inference_decode_node_selector={"harness.dev/no-such-node": "true"},
                           verify_disaggregated_inference_wait_timeout=60)
    checks = by_name(result)
    assert result.outcome == "failed"
    available = checks["Prefill and decode Deployments become available"]
    assert available.status == "fail" and "affinity/selector" in available.observed
    assert checks["Prefill and decode run in separate pods"].status == "fail"
    assert leftover_namespaces(k8s) == []
