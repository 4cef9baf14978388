"""Lab: verify_driver_runtime_management against the simulated GPU nodes.

Healthy: both simulated nodes advertise driver 580.95.05 / CUDA 13.0 in their GFD labels and (as
580.95.5 / 13.0.0) in the simulated DRA driver's device attributes; the two agree at their shared
precision and kwok reports a container runtime. The in-pod driver check is left to hardware.
Broken: an expected driver version the nodes do not run; version metadata looked up where none is.
"""

from __future__ import annotations

from typing import Any

import pytest

from accel_lab import assert_evidence, assert_only_hardware_missing, by_name, summary, assert_same_as_golden

pytestmark = pytest.mark.lab

REQ = "driver_runtime_management"
CONSISTENT = "DRA attributes and node labels advertise the same versions (at their shared precision)"


def test_healthy_nodes_advertise_consistent_versions(run_verify: Any, lab: Any) -> None:
    driver = str(lab.vars.get("sim_lab_gpu_driver_version", "580.95.05"))
    result, run_dir = run_verify(REQ, verify_driver_runtime_management_expected_driver_version=driver)
    assert_same_as_golden(result, run_dir, REQ)
    checks = by_name(result)
    assert_only_hardware_missing(result)
    for name in ("Accelerator nodes are found", "Every accelerator node advertises its driver version",
                 "Every accelerator node advertises its CUDA version", CONSISTENT,
                 "Every accelerator node reports its container runtime",
                 "The advertised versions are the expected ones"):
        assert checks[name].status == "pass", checks[name]
    # Both sources were compared on both nodes (580.95.5 from DRA against 580.95.05 from the label).
    assert "sim-gpu-0 driver" in checks[CONSISTENT].observed and "sim-gpu-1 cuda" in checks[CONSISTENT].observed
    hw = checks["A pod given an accelerator sees the driver at the advertised version"]
    assert hw.status == "skip" and hw.needs_hardware
    assert_evidence(result, run_dir, REQ, "nodes.yaml", "resourceslices.yaml")


def test_unexpected_driver_version_fails(run_verify: Any) -> None:
    result, _ = run_verify(REQ, verify_driver_runtime_management_expected_driver_version="575.57.08")
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    check = checks["The advertised versions are the expected ones"]
    assert check.status == "fail"
    assert "expected 575.57.08" in check.observed


def test_no_version_metadata_fails(run_verify: Any) -> None:
    # Neither a label nor a device attribute of these names exists on any node.
    result, _ = run_verify(REQ, verify_driver_runtime_management_driver_label="example.com/no-such-label",
                           verify_driver_runtime_management_driver_attribute="noSuchAttribute")
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks["Every accelerator node advertises its driver version"].status == "fail"
    assert "missing on sim-gpu-0" in checks["Every accelerator node advertises its driver version"].observed
