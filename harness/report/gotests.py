"""A run's results seen as Go tests: the common model of junit.xml, e2e.log and results.json.

Each requirement becomes one top-level test (the upstream auto-test name where one exists) whose
outcome is the requirement's aggregate, with one subtest per check. The CNCF validator matches
an exact test name first, so the parent test decides what a ``#TestName`` link means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from harness.results import CheckStatus, Outcome, RequirementResult
from harness.run import Run

#: `go test` package name the artifacts report
PACKAGE = "harness/conformance"

#: upstream kubernetes-sigs/ai-conformance test names (the validator's autoTestedRequirements)
UPSTREAM_TEST_NAMES = {
    "secure_accelerator_access": "TestSecureAcceleratorAccess",
    "gang_scheduling": "TestGangScheduling",
    "cluster_autoscaling": "TestAcceleratorClusterAutoscaling",
}

GoOutcome = Literal["pass", "fail", "error", "skip"]


@dataclass
class GoTest:
    name: str
    outcome: GoOutcome
    duration_s: float = 0.0
    message: str = ""  # one line: why it did not pass
    log: list[str] = field(default_factory=list)  # lines shown under the test (expected/observed)


@dataclass
class RequirementTests:
    req_id: str
    result: RequirementResult
    test: GoTest  # the requirement's aggregate
    subtests: list[GoTest]

    def all(self) -> list[GoTest]:
        return [self.test, *self.subtests]


def requirement_test_name(req_id: str) -> str:
    """``gang_scheduling`` → ``TestGangScheduling``; others ``Test`` + CamelCase (``TestAiInference``)."""
    if req_id in UPSTREAM_TEST_NAMES:
        return UPSTREAM_TEST_NAMES[req_id]
    return "Test" + "".join(w[:1].upper() + w[1:] for w in req_id.split("_"))


def subtest_name(check_name: str) -> str:
    # as Go's t.Run does: whitespace becomes "_", so a name is one token in `--- PASS: name` lines
    name = re.sub(r"\s", "_", check_name.strip()) or "check"
    return "".join(c if c.isprintable() else "_" for c in name)


_CHECK_OUTCOME: dict[CheckStatus, GoOutcome] = {
    CheckStatus.PASS: "pass",
    CheckStatus.FAIL: "fail",
    CheckStatus.ERROR: "error",
    CheckStatus.SKIP: "skip",
}


def requirement_tests(run: Run, requirement_ids: list[str] | None = None) -> list[RequirementTests]:
    """The tests of the given requirements (default: all in the run), skipping ids the run lacks."""
    ids = list(run.requirements) if requirement_ids is None else requirement_ids
    return [_tests_of(run.requirements[i]) for i in ids if i in run.requirements]


def _tests_of(r: RequirementResult) -> RequirementTests:
    parent = requirement_test_name(r.id)
    subs: list[GoTest] = []
    seen: dict[str, int] = {}
    for c in r.checks:
        base = f"{parent}/{subtest_name(c.name)}"
        n = seen.get(base, 0)
        seen[base] = n + 1
        name = base if n == 0 else f"{base}#{n:02d}"  # Go's suffix for duplicate subtest names
        outcome = _CHECK_OUTCOME[c.status]
        log: list[str] = []
        message = ""
        if outcome in ("fail", "error"):
            log += [f"expected: {c.expected}", f"observed: {c.observed}"]
            message = f"expected: {_one_line(c.expected)}; observed: {_one_line(c.observed)}"
            if c.message:
                message = f"{c.message} ({message})"
        elif outcome == "skip":
            message = c.message or ("needs real accelerator hardware" if c.needs_hardware else "skipped")
        elif c.observed:
            log.append(f"observed: {c.observed}")
        if c.message:
            log.append(c.message)
        elif outcome == "skip":
            log.append(message)
        subs.append(GoTest(name, outcome, c.duration_s or 0.0, message, log))

    duration = r.duration_s if r.duration_s is not None else sum(s.duration_s for s in subs)
    outcome, message = _aggregate(r, subs)
    test = GoTest(parent, outcome, duration, message)
    test.log = [f"requirement: {r.id}", f"status: {r.status}"] + ([f"notes: {r.notes}"] if r.notes else [])
    return RequirementTests(r.id, r, test, subs)


def _one_line(s: str) -> str:
    return s.replace("\r", "").replace("\n", "\\n")


def _aggregate(r: RequirementResult, subs: list[GoTest]) -> tuple[GoOutcome, str]:
    def names(outcome: str) -> str:
        return ", ".join(s.name.split("/", 1)[1] for s in subs if s.outcome == outcome)

    if r.outcome is Outcome.PASSED:
        return "pass", ""
    if r.outcome is Outcome.DECLARED:
        reason = r.declared.reason if r.declared else r.notes
        return "skip", f"declared {r.status}: {reason}"
    if r.outcome is Outcome.FAILED:
        return "fail", f"failed checks: {names('fail')}"
    if r.outcome is Outcome.ERROR:
        return "error", f"checks that could not complete: {names('error')}"
    if r.outcome is Outcome.MISSING:
        return "error", "no result: the verify role did not report"
    why = "needs real accelerator hardware" if r.needs_hardware else "required checks did not run"
    skipped = names("skip")
    return "skip", f"{why}" + (f" (skipped: {skipped})" if skipped else "")


@dataclass
class GoEvent:
    """One `go test -json` event; the e2e.log text is the concatenation of their outputs."""

    action: str  # start | run | output | pass | fail | skip
    test: str = ""
    output: str = ""
    elapsed: float | None = None
    offset_s: float = 0.0  # seconds since the run started


_VERB = {"pass": "PASS", "fail": "FAIL", "error": "FAIL", "skip": "SKIP"}
_ACTION = {"pass": "pass", "fail": "fail", "error": "fail", "skip": "skip"}
# a logged line that the validator's `--- PASS:` pattern (or a reader) would take for a result
_LOOKS_LIKE_RESULT = re.compile(r"^\s*(--- (PASS|FAIL|SKIP)|=== (RUN|PAUSE|CONT|NAME))")


def go_events(groups: list[RequirementTests]) -> list[GoEvent]:
    """The events `go test -v -json` would print for these tests, in Go's order."""
    ev: list[GoEvent] = [GoEvent("start")]
    clock = 0.0
    failed = False
    for g in groups:
        t0 = clock
        ev += [
            GoEvent("run", g.test.name, offset_s=clock),
            _out(g.test.name, f"=== RUN   {g.test.name}\n", clock),
        ]
        ev += [_out(g.test.name, line, clock) for line in _log_lines(g.test.log)]
        for s in g.subtests:
            ev += [GoEvent("run", s.name, offset_s=clock), _out(s.name, f"=== RUN   {s.name}\n", clock)]
            ev += [_out(s.name, line, clock) for line in _log_lines(s.log)]
            clock += s.duration_s
        clock = max(clock, t0 + g.test.duration_s)
        ev.append(_out(g.test.name, _result_line(g.test, ""), clock))
        for s in g.subtests:
            ev.append(_out(s.name, _result_line(s, "    "), clock))
            ev.append(GoEvent(_ACTION[s.outcome], s.name, elapsed=_round(s.duration_s), offset_s=clock))
        ev.append(
            GoEvent(_ACTION[g.test.outcome], g.test.name, elapsed=_round(g.test.duration_s), offset_s=clock)
        )
        failed = failed or any(t.outcome in ("fail", "error") for t in g.all())
    verdict = "FAIL" if failed else "PASS"
    tail = f"FAIL\t{PACKAGE}\t{clock:.3f}s\n" if failed else f"ok  \t{PACKAGE}\t{clock:.3f}s\n"
    ev += [_out("", f"{verdict}\n", clock), _out("", tail, clock)]
    ev.append(GoEvent("fail" if failed else "pass", elapsed=round(clock, 3), offset_s=clock))
    return ev


def _out(test: str, text: str, offset: float) -> GoEvent:
    return GoEvent("output", test, text, offset_s=offset)


def _result_line(t: GoTest, indent: str) -> str:
    return f"{indent}--- {_VERB[t.outcome]}: {t.name} ({t.duration_s:.2f}s)\n"


def _log_lines(log: list[str]) -> list[str]:
    # like t.Log in -v mode: 4 spaces, continuation lines 8; never a line that parses as a result
    out: list[str] = []
    for entry in log:
        for i, line in enumerate(entry.splitlines() or [""]):
            if _LOOKS_LIKE_RESULT.match(line):
                line = "| " + line
            out.append(("    " if i == 0 else "        ") + line + "\n")
    return out


def _round(s: float) -> float:
    return round(s, 2)
