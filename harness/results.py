"""Results of a run: checks, per-requirement results and the status rules.

A verify role reports checks (pass/fail/error/skip, with expected and observed values); this
module turns them into a CNCF status. The rules, in order:

1. The inventory declares N/A (with a reason) → ``N/A``.
2. The inventory declares partial support (with a reason) → ``Partially Implemented``.
3. No result came back from the role → ``Not Implemented`` (outcome ``missing``).
4. A check errored (could not tell) → ``Not Implemented`` (outcome ``error``).
5. A check failed → ``Not Implemented`` (outcome ``failed``).
6. A required check was skipped (e.g. it needs real hardware) or nothing passed →
   ``Not Implemented`` (outcome ``incomplete``).
7. Otherwise every needed check passed → ``Implemented`` (outcome ``passed``).

An error or a missing result is never a pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = "1.0"


class CheckStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


class Status(StrEnum):
    """The four statuses a CNCF PRODUCT.yaml accepts."""

    IMPLEMENTED = "Implemented"
    NOT_IMPLEMENTED = "Not Implemented"
    PARTIAL = "Partially Implemented"
    NA = "N/A"


class Outcome(StrEnum):
    """Why a requirement got its status; finer than the CNCF status."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    INCOMPLETE = "incomplete"
    MISSING = "missing"
    DECLARED = "declared"


@dataclass
class Check:
    name: str
    status: CheckStatus
    expected: str = ""
    observed: str = ""
    message: str = ""
    required: bool = True
    needs_hardware: bool = False
    duration_s: float | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Check:
        return cls(
            name=str(d["name"]),
            status=CheckStatus(str(d["status"])),
            expected=_text(d.get("expected")),
            observed=_text(d.get("observed")),
            message=_text(d.get("message")),
            required=bool(d.get("required", True)),
            needs_hardware=bool(d.get("needs_hardware", False)),
            duration_s=_float(d.get("duration_s")),
        )


@dataclass
class Declaration:
    """Support the inventory declares instead of (or on top of) what the checks prove."""

    status: Status  # N/A or Partially Implemented
    reason: str


@dataclass
class RoleReport:
    """One requirement's record as a verify role emitted it (the result contract)."""

    requirement: str
    checks: list[Check] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    notes: str = ""
    needs_hardware: bool = False
    simulated: bool = False
    role: str = ""
    started: str = ""
    finished: str = ""
    duration_s: float | None = None

    @classmethod
    def from_dict(cls, req_id: str, d: dict[str, Any]) -> RoleReport:
        return cls(
            requirement=req_id,
            checks=[Check.from_dict(c) for c in d.get("checks") or []],
            evidence=[str(e) for e in d.get("evidence") or []],
            notes=_text(d.get("notes")),
            needs_hardware=bool(d.get("needs_hardware", False)),
            simulated=bool(d.get("simulated", False)),
            role=_text(d.get("role")),
            started=_text(d.get("started")),
            finished=_text(d.get("finished")),
            duration_s=_float(d.get("duration_s")),
        )


@dataclass
class RequirementResult:
    id: str
    status: Status
    outcome: Outcome
    checks: list[Check] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    notes: str = ""
    needs_hardware: bool = False
    simulated: bool = False
    declared: Declaration | None = None
    duration_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = str(self.status)
        d["outcome"] = str(self.outcome)
        d["checks"] = [{**asdict(c), "status": str(c.status)} for c in self.checks]
        d["declared"] = (
            {"status": str(self.declared.status), "reason": self.declared.reason}
            if self.declared
            else None
        )
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RequirementResult:
        decl = d.get("declared")
        return cls(
            id=str(d["id"]),
            status=Status(d["status"]),
            outcome=Outcome(d["outcome"]),
            checks=[Check.from_dict(c) for c in d.get("checks") or []],
            evidence=[str(e) for e in d.get("evidence") or []],
            notes=_text(d.get("notes")),
            needs_hardware=bool(d.get("needs_hardware", False)),
            simulated=bool(d.get("simulated", False)),
            declared=Declaration(Status(decl["status"]), str(decl["reason"])) if decl else None,
            duration_s=_float(d.get("duration_s")),
        )


def decide(req_id: str, report: RoleReport | None, declared: Declaration | None) -> RequirementResult:
    """Apply the status rules of the module docstring to one requirement."""
    base = RequirementResult(id=req_id, status=Status.NOT_IMPLEMENTED, outcome=Outcome.MISSING)
    if report is not None:
        base.checks = report.checks
        base.evidence = report.evidence
        base.notes = report.notes
        base.needs_hardware = report.needs_hardware or any(c.needs_hardware for c in report.checks)
        base.simulated = report.simulated
        base.duration_s = report.duration_s
    if declared is not None:
        base.declared = declared
        base.status = declared.status
        base.outcome = Outcome.DECLARED
        base.notes = _join(declared.reason, base.notes)
        return base
    if report is None:
        base.notes = "No result: the verify role did not report (it did not run, or the run stopped first)."
        return base
    statuses = [c.status for c in report.checks]
    if CheckStatus.ERROR in statuses:
        base.outcome = Outcome.ERROR
        base.notes = _join(base.notes, "A check could not be completed, so this requirement is not proven.")
    elif CheckStatus.FAIL in statuses:
        base.outcome = Outcome.FAILED
    elif CheckStatus.PASS not in statuses or any(
        c.status is CheckStatus.SKIP and c.required for c in report.checks
    ):
        base.outcome = Outcome.INCOMPLETE
        if base.needs_hardware:
            base.notes = _join(base.notes, "Needs real accelerator hardware to prove; not proven on this lab.")
    else:
        base.outcome = Outcome.PASSED
        base.status = Status.IMPLEMENTED
    return base


def _join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _text(v: Any) -> str:
    return "" if v is None else str(v)


def _float(v: Any) -> float | None:
    try:
        return None if v is None or v == "" else float(v)
    except (TypeError, ValueError):
        return None
