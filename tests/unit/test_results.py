"""The status rules: Implemented only when every needed check passed."""

from __future__ import annotations

import pytest

from harness.results import (
    Check,
    CheckStatus,
    Declaration,
    Outcome,
    RequirementResult,
    RoleReport,
    Status,
    decide,
)


def report(*statuses: str, required: bool = True, hw: bool = False) -> RoleReport:
    return RoleReport(
        requirement="ai_inference",
        checks=[
            Check(f"c{i}", CheckStatus(s), required=required, needs_hardware=hw)
            for i, s in enumerate(statuses)
        ],
    )


@pytest.mark.parametrize(
    ("statuses", "status", "outcome"),
    [
        (("pass", "pass"), Status.IMPLEMENTED, Outcome.PASSED),
        (("pass", "fail"), Status.NOT_IMPLEMENTED, Outcome.FAILED),
        (("pass", "error"), Status.NOT_IMPLEMENTED, Outcome.ERROR),
        (("fail", "error"), Status.NOT_IMPLEMENTED, Outcome.ERROR),
        (("pass", "skip"), Status.NOT_IMPLEMENTED, Outcome.INCOMPLETE),
        (("skip",), Status.NOT_IMPLEMENTED, Outcome.INCOMPLETE),
        ((), Status.NOT_IMPLEMENTED, Outcome.INCOMPLETE),
    ],
)
def test_checks_decide_status(statuses: tuple[str, ...], status: Status, outcome: Outcome) -> None:
    r = decide("ai_inference", report(*statuses), None)
    assert (r.status, r.outcome) == (status, outcome)


def test_optional_skip_does_not_block_implemented() -> None:
    rep = report("pass")
    rep.checks.append(Check("optional", CheckStatus.SKIP, required=False))
    assert decide("ai_inference", rep, None).status is Status.IMPLEMENTED


def test_missing_result_is_never_a_pass() -> None:
    r = decide("gang_scheduling", None, None)
    assert r.status is Status.NOT_IMPLEMENTED
    assert r.outcome is Outcome.MISSING
    assert "did not report" in r.notes


def test_declared_na_wins_and_carries_reason() -> None:
    decl = Declaration(Status.NA, "No cluster autoscaler on bare metal.")
    r = decide("cluster_autoscaling", None, decl)
    assert (r.status, r.outcome) == (Status.NA, Outcome.DECLARED)
    assert "bare metal" in r.notes


def test_declared_partial_keeps_checks() -> None:
    decl = Declaration(Status.PARTIAL, "Time-slicing only, no MIG.")
    r = decide("gpu_sharing", report("pass", "fail"), decl)
    assert r.status is Status.PARTIAL
    assert len(r.checks) == 2


def test_hardware_skip_is_explained() -> None:
    r = decide("driver_runtime_management", report("skip", hw=True), None)
    assert r.outcome is Outcome.INCOMPLETE
    assert r.needs_hardware
    assert "real accelerator hardware" in r.notes


def test_round_trip() -> None:
    r = decide("cluster_autoscaling", report("pass"), Declaration(Status.NA, "why"))
    assert RequirementResult.from_dict(r.to_dict()) == r


def test_role_report_from_dict_tolerates_nulls() -> None:
    rep = RoleReport.from_dict(
        "ai_inference",
        {"checks": [{"name": "x", "status": "pass", "expected": None, "duration_s": "1.5"}], "evidence": None},
    )
    assert rep.checks[0].expected == "" and rep.checks[0].duration_s == 1.5
    with pytest.raises(ValueError):
        RoleReport.from_dict("ai_inference", {"checks": [{"name": "x", "status": "passed"}]})
