"""Lab: verify_workload_sandboxing against the simulated lab's real node (containerd + runc + runsc).

Healthy: the lab offers RuntimeClass gvisor (handler runsc, scheduled onto the real node); the probe
pod inside gVisor reports its own kernel (uname -r 4.19.0-gvisor, its own /proc/version and boot id),
unlike a runc pod on the same node: Implemented.

Broken, for real: the node's `runsc` handler is pointed at runc (a RuntimeClass that claims to
sandbox but does not): the probes see the host kernel in both pods, and the requirement fails.
And a lab whose sandbox RuntimeClass is missing fails with "no sandbox RuntimeClass".
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from accel_lab import assert_evidence, by_name, leftover_namespaces, summary, assert_same_as_golden
from node_breakers import built_runc, node_reconfigured

pytestmark = pytest.mark.lab

REQ = "workload_sandboxing"
EXISTS = "A sandbox RuntimeClass exists"
ADMITTED = "A pod with the sandbox runtimeClassName is admitted and runs"
ISOLATION = "The sandboxed pod runs on its own kernel, not the node's"


def test_gvisor_pod_runs_on_its_own_kernel(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ)
    assert_same_as_golden(result, run_dir, REQ)
    checks = by_name(result)
    assert result.outcome == "passed", summary(result)
    assert "gvisor (handler runsc)" in checks[EXISTS].observed
    assert checks[ADMITTED].status == "pass" and "harness-node" in checks[ADMITTED].observed
    isolation = checks[ISOLATION]
    assert isolation.status == "pass", isolation
    host_kernel = os.uname().release
    assert f"runc {host_kernel!r}" in isolation.observed  # the baseline really ran on this host's kernel
    assert re.search(r"sandboxed '[^']*gvisor'", isolation.observed)  # gVisor's own kernel
    assert checks["The sandboxed kernel differs from the node's kernelVersion"].status == "pass"
    assert_evidence(result, run_dir, REQ, "probes.yaml", "runtimeclasses.yaml")
    assert leftover_namespaces(k8s, REQ) == []


def test_runtime_class_that_is_really_runc_fails(run_verify: Any, k8s: Any, lab: Any) -> None:
    with node_reconfigured(sim_node_runsc_handler_binary=built_runc(lab.vars)):
        result, _ = run_verify(REQ)
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks[ADMITTED].status == "pass"  # the API cannot tell: only the probe can
    isolation = checks[ISOLATION]
    assert isolation.status == "fail", isolation
    assert "uname -r" in isolation.message and os.uname().release in isolation.observed
    assert leftover_namespaces(k8s, REQ) == []


def test_lab_without_sandbox_fails(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ, verify_workload_sandboxing_runtime_classes=["no-such-sandbox"])
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks[EXISTS].status == "fail"
    assert checks[EXISTS].message == "no sandbox RuntimeClass"
    assert_evidence(result, run_dir, REQ, "runtimeclasses.yaml")
    assert leftover_namespaces(k8s, REQ) == []
