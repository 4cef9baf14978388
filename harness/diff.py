"""Compare two runs: what changed, what regressed, what got slower.

A regression is a requirement or check that got worse (Implemented → anything else, passed →
failed/error/missing, a check pass → fail), a new error, or a run that no longer finished. Time
changes are reported and flagged above a threshold but only count as a regression when asked
(``time_regresses=True``), because wall time on shared CI machines is noisy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from harness import catalog
from harness.results import CheckStatus, Outcome, RequirementResult, Status
from harness.run import Run

Kind = Literal["regression", "improvement", "change", "added", "removed"]

#: Better statuses rank higher; an absent requirement ranks lowest.
_STATUS_RANK: dict[str | None, int] = {
    str(Status.IMPLEMENTED): 3,
    str(Status.PARTIAL): 2,
    str(Status.NA): 1,
    str(Status.NOT_IMPLEMENTED): 0,
    None: -1,
}
_OUTCOME_RANK: dict[str | None, int] = {
    str(Outcome.PASSED): 4,
    str(Outcome.DECLARED): 3,
    str(Outcome.INCOMPLETE): 2,
    str(Outcome.FAILED): 1,
    str(Outcome.ERROR): 1,
    str(Outcome.MISSING): 0,
    None: 0,
}
_CHECK_RANK: dict[str, int] = {
    str(CheckStatus.PASS): 3,
    str(CheckStatus.SKIP): 2,
    str(CheckStatus.FAIL): 1,
    str(CheckStatus.ERROR): 1,
}

SLOWER_RATIO = 0.5  # flag when more than 50 % slower ...
SLOWER_MIN_S = 10.0  # ... and more than 10 s slower


@dataclass(frozen=True)
class RequirementChange:
    id: str
    before: str | None  # status in run A; None when A has no result for it
    after: str | None
    before_outcome: str | None
    after_outcome: str | None
    kind: Kind


@dataclass(frozen=True)
class CheckChange:
    requirement: str
    check: str
    before: str | None  # None: the check is new in B
    after: str | None  # None: the check is gone in B
    kind: Kind


@dataclass(frozen=True)
class NewError:
    requirement: str  # "" for the run itself
    check: str  # "" for the requirement or run as a whole
    message: str


@dataclass(frozen=True)
class DurationChange:
    subject: str  # requirement id, or "total"
    before_s: float
    after_s: float
    flagged: bool  # slower by more than the threshold

    @property
    def delta_s(self) -> float:
        return self.after_s - self.before_s

    @property
    def ratio(self) -> float | None:
        return None if self.before_s <= 0 else self.delta_s / self.before_s


@dataclass
class RunDiff:
    a: str  # run ids
    b: str
    requirements: list[RequirementChange] = field(default_factory=list)
    checks: list[CheckChange] = field(default_factory=list)
    new_errors: list[NewError] = field(default_factory=list)
    durations: list[DurationChange] = field(default_factory=list)
    lab: list[tuple[str, str, str]] = field(default_factory=list)  # what, before, after
    state: tuple[str, str] = ("complete", "complete")
    time_regresses: bool = False

    @property
    def slower(self) -> list[DurationChange]:
        return [d for d in self.durations if d.flagged]

    @property
    def regressed(self) -> bool:
        return (
            any(r.kind == "regression" for r in self.requirements)
            or any(c.kind == "regression" for c in self.checks)
            or bool(self.new_errors)
            or (self.state[0] == "complete" and self.state[1] != "complete")
            or (self.time_regresses and bool(self.slower))
        )


def _kind(before: tuple[int, ...], after: tuple[int, ...]) -> Kind:
    if after < before:
        return "regression"
    if after > before:
        return "improvement"
    return "change"


def _order(ids: set[str]) -> list[str]:
    known = {rid: i for i, rid in enumerate(catalog.all_ids())}
    return sorted(ids, key=lambda rid: (known.get(rid, len(known)), rid))


def _deselected(run: Run, rid: str) -> bool:
    only = run.selection.get("only") or []
    return rid in (run.selection.get("skip") or []) or bool(only and rid not in only)


def _in_checklists(run: Run, rid: str) -> bool:
    for version in run.checklists:
        try:
            if catalog.load(version).get(rid) is not None:
                return True
        except (catalog.UnknownChecklistError, ValueError):
            continue
    return False


def _checks_by_name(r: RequirementResult | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in r.checks if r else []:
        name, n = c.name, 2
        while name in out:  # a role may repeat a check name; keep both
            name, n = f"{c.name}#{n}", n + 1
        out[name] = str(c.status)
    return out


def _error_messages(r: RequirementResult | None) -> dict[str, str]:
    """Errors of one requirement, keyed by check name ("" for the requirement itself)."""
    if r is None:
        return {}
    out = {
        c.name: c.message or c.observed or "check errored"
        for c in r.checks
        if c.status is CheckStatus.ERROR
    }
    if r.outcome in (Outcome.ERROR, Outcome.MISSING) and not out:
        out[""] = _first_line(r.notes) or f"outcome {r.outcome}"
    return out


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def diff_runs(
    a: Run,
    b: Run,
    *,
    slower_ratio: float = SLOWER_RATIO,
    slower_min_s: float = SLOWER_MIN_S,
    time_regresses: bool = False,
) -> RunDiff:
    """What changed from run ``a`` (before) to run ``b`` (after)."""
    d = RunDiff(a=a.run_id, b=b.run_id, state=(a.state, b.state), time_regresses=time_regresses)
    for rid in _order(set(a.requirements) | set(b.requirements)):
        ra, rb = a.requirements.get(rid), b.requirements.get(rid)
        if rb is None and _deselected(b, rid):
            continue  # B was not asked to run it: absence is no news
        sa = str(ra.status) if ra else None
        sb = str(rb.status) if rb else None
        oa = str(ra.outcome) if ra else None
        ob = str(rb.outcome) if rb else None
        if (sa, oa) != (sb, ob):
            if ra is None:
                kind: Kind = "added"
            elif rb is None and not _in_checklists(b, rid):
                kind = "removed"  # B's checklist no longer has it (dra_support after v1.35)
            else:
                kind = _kind(
                    (_STATUS_RANK.get(sa, 0), _OUTCOME_RANK.get(oa, 0)),
                    (_STATUS_RANK.get(sb, 0), _OUTCOME_RANK.get(ob, 0)),
                )
            d.requirements.append(RequirementChange(rid, sa, sb, oa, ob, kind))

        if ra is not None and rb is not None:
            ca, cb = _checks_by_name(ra), _checks_by_name(rb)
            for name in [*ca, *(n for n in cb if n not in ca)]:
                before, after = ca.get(name), cb.get(name)
                if before == after:
                    continue
                if before is None:
                    ck: Kind = "added"
                elif after is None:
                    ck = "removed"
                else:
                    ck = _kind((_CHECK_RANK.get(before, 0),), (_CHECK_RANK.get(after, 0),))
                    if before == str(CheckStatus.PASS):
                        ck = "regression"
                d.checks.append(CheckChange(rid, name, before, after, ck))

        if rb is not None:
            old = _error_messages(ra)
            for check, message in _error_messages(rb).items():
                if check not in old:
                    d.new_errors.append(NewError(rid, check, message))

        if ra and rb and ra.duration_s is not None and rb.duration_s is not None:
            _duration(d, rid, ra.duration_s, rb.duration_s, slower_ratio, slower_min_s)

    if b.state != "complete" and a.state == "complete":
        why = b.interruption or {}
        d.new_errors.append(
            NewError(
                "", "", f"run {b.state}: {why.get('reason', '?')} {why.get('message', '')}".strip()
            )
        )
    if a.duration_s is not None and b.duration_s is not None:
        _duration(d, "total", float(a.duration_s), float(b.duration_s), slower_ratio, slower_min_s)

    d.lab = _lab_changes(a, b)
    return d


def _duration(
    d: RunDiff, subject: str, before: float, after: float, ratio: float, min_s: float
) -> None:
    if before == after:
        return
    delta = after - before
    flagged = delta > min_s and (before <= 0 or delta / before > ratio)
    d.durations.append(DurationChange(subject, before, after, flagged))


def _lab_changes(a: Run, b: Run) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    pairs = [
        ("checklists", ", ".join(a.checklists), ", ".join(b.checklists)),
        ("lab", a.lab.name, b.lab.name),
        ("kubernetes", a.lab.kubernetes_version, b.lab.kubernetes_version),
    ]
    for comp in sorted(set(a.lab.components) | set(b.lab.components)):
        pairs.append((comp, a.lab.components.get(comp, ""), b.lab.components.get(comp, "")))
    for what, before, after in pairs:
        if before != after:
            out.append((what, before or "-", after or "-"))
    return out


# --- output -------------------------------------------------------------------------------


def to_json(diff: RunDiff) -> dict[str, Any]:
    """The diff for machines; stable keys, no floats beyond what the runs held."""
    return {
        "a": diff.a,
        "b": diff.b,
        "regressed": diff.regressed,
        "state": {"a": diff.state[0], "b": diff.state[1]},
        "requirements": [asdict(r) for r in diff.requirements],
        "checks": [asdict(c) for c in diff.checks],
        "new_errors": [asdict(e) for e in diff.new_errors],
        "durations": [
            {
                "subject": t.subject,
                "before_s": t.before_s,
                "after_s": t.after_s,
                "delta_s": round(t.delta_s, 3),
                "ratio": None if t.ratio is None else round(t.ratio, 3),
                "flagged": t.flagged,
            }
            for t in diff.durations
        ],
        "lab": [{"what": w, "before": x, "after": y} for w, x, y in diff.lab],
    }


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _label(kind: Kind) -> str:
    return "REGRESSION" if kind == "regression" else kind


def _state(status: str | None, outcome: str | None) -> str:
    return "absent" if status is None else f"{status} ({outcome})"


def _secs(v: float) -> str:
    return f"{v:.1f}s"


def render_table(diff: RunDiff) -> str:
    """The diff for people: plain, aligned text (no final newline), the same for the same input."""
    verdict = "REGRESSED" if diff.regressed else "no regression"
    lines = [f"diff {diff.a} -> {diff.b}: {verdict}"]
    if diff.state != ("complete", "complete"):
        lines.append(f"run state: {diff.state[0]} -> {diff.state[1]}")

    lines += ["", f"Requirements ({len(diff.requirements)} changed)"]
    if diff.requirements:
        lines += _table(
            [
                [
                    _label(r.kind),
                    r.id,
                    _state(r.before, r.before_outcome),
                    "->",
                    _state(r.after, r.after_outcome),
                ]
                for r in diff.requirements
            ]
        )

    lines += ["", f"Checks ({len(diff.checks)} changed)"]
    if diff.checks:
        lines += _table(
            [
                [_label(c.kind), c.requirement, c.check, c.before or "-", "->", c.after or "-"]
                for c in diff.checks
            ]
        )

    lines += ["", f"New errors ({len(diff.new_errors)})"]
    if diff.new_errors:
        lines += _table(
            [
                [e.requirement or "(run)", e.check or "-", " ".join(e.message.split())]
                for e in diff.new_errors
            ]
        )

    shown = [t for t in diff.durations if t.flagged or t.subject == "total"]
    lines += ["", f"Durations ({len(diff.slower)} flagged)"]
    if shown:
        rows = []
        for t in shown:
            pct = "" if t.ratio is None else f" ({t.ratio:+.0%})"
            rows.append(
                [
                    t.subject,
                    _secs(t.before_s),
                    "->",
                    _secs(t.after_s),
                    f"{t.delta_s:+.1f}s{pct}",
                    "SLOWER" if t.flagged else "",
                ]
            )
        lines += _table(rows)

    if diff.lab:
        lines += ["", "Lab"]
        lines += _table([[w, x, "->", y] for w, x, y in diff.lab])
    return "\n".join(lines)
