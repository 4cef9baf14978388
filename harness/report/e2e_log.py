"""results/e2e.log: `go test -v` text, as the CNCF validator parses it (``--- PASS|FAIL|SKIP: Name``)."""

from __future__ import annotations

from harness.report.gotests import go_events, requirement_tests
from harness.run import Run


def render_e2e_log(run: Run, requirement_ids: list[str] | None = None) -> str:
    return "".join(
        e.output for e in go_events(requirement_tests(run, requirement_ids)) if e.action == "output"
    )
