"""Lab: verify_workload_sandboxing against the simulated lab.

The lab has no sandbox runtime, so the plain run fails ("no sandbox RuntimeClass"). The healthy
case adds a RuntimeClass gvisor (handler runsc) and removes it after: the role must find it and
run a pod with it; the isolation probes need a real node (not an accelerator), so the outcome is
incomplete with that check skipped and required.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from accel_lab import assert_evidence, by_name, leftover_namespaces, summary

pytestmark = pytest.mark.lab

REQ = "workload_sandboxing"
EXISTS = "A sandbox RuntimeClass exists"
ISOLATION = "The sandboxed pod runs on its own kernel, without the host's PID namespace or network"


@pytest.fixture
def gvisor(k8s: Any) -> Iterator[str]:
    api = client.NodeV1Api(k8s)
    body = client.V1RuntimeClass(metadata=client.V1ObjectMeta(name="gvisor", labels={"harness.dev/test": REQ}),
                                 handler="runsc")
    api.create_runtime_class(body)
    try:
        yield "gvisor"
    finally:
        try:
            api.delete_runtime_class("gvisor")
        except ApiException as exc:
            if exc.status != 404:
                raise


def test_lab_without_sandbox_fails(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ)
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks[EXISTS].status == "fail"
    assert checks[EXISTS].message == "no sandbox RuntimeClass"
    assert_evidence(result, run_dir, REQ, "runtimeclasses.yaml")
    assert leftover_namespaces(k8s, REQ) == []


def test_gvisor_runtime_class_runs_a_pod(run_verify: Any, k8s: Any, gvisor: str) -> None:
    result, run_dir = run_verify(REQ)
    checks = by_name(result)
    assert result.outcome == "incomplete", summary(result)
    assert checks[EXISTS].status == "pass" and "gvisor (handler runsc)" in checks[EXISTS].observed
    assert checks["A pod with the sandbox runtimeClassName is admitted and runs"].status == "pass"
    assert checks["The admitted sandboxed pod shares no host namespace"].status == "pass"
    probe = checks[ISOLATION]
    assert probe.status == "skip" and probe.required and not probe.needs_hardware
    assert "real node" in probe.message
    assert not result.needs_hardware  # a sandbox runtime is needed, not an accelerator
    assert_evidence(result, run_dir, REQ, "pod.yaml")
    assert leftover_namespaces(k8s, REQ) == []
