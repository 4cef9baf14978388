"""results/results.json: `go test -json` lines, one event a line, as gotestsum and the validator read them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from harness.report.gotests import PACKAGE, go_events, requirement_tests
from harness.run import Run


def render_results_json(run: Run, requirement_ids: list[str] | None = None) -> str:
    base = _start_time(run.started)
    lines = []
    for e in go_events(requirement_tests(run, requirement_ids)):
        d: dict[str, Any] = {
            "Time": _rfc3339(base + timedelta(seconds=e.offset_s)),
            "Action": e.action,
            "Package": PACKAGE,
        }
        if e.test:
            d["Test"] = e.test
        if e.elapsed is not None:
            d["Elapsed"] = _number(e.elapsed)
        if e.action == "output":
            d["Output"] = e.output
        lines.append(json.dumps(d, ensure_ascii=False, separators=(",", ":")))  # compact, as Go writes it
    return "\n".join(lines) + "\n"


def _start_time(started: str) -> datetime:
    # the run's own start keeps the file reproducible from run.json
    try:
        t = datetime.fromisoformat(started)
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _rfc3339(t: datetime) -> str:
    # Go's RFC3339Nano: fractional seconds without trailing zeros, "Z" for UTC
    t = t.astimezone(UTC)
    frac = f"{t.microsecond:06d}".rstrip("0")
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def _number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x
