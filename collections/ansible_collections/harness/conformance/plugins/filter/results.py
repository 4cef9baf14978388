# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Filters behind the result contract: normalise one requirement's record before set_stats."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Any

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: result_record
short_description: Normalise a verify role's result record (the harness result contract)
version_added: "0.1.0"
description:
  - Takes the requirement id and the emit role's options and returns the record the harness reads
    from set_stats, with every key present and every value of the expected type.
  - Fails on a check without a name or with a status other than pass, fail, error or skip.
positional: _input
options:
  _input:
    description: The requirement id.
    type: str
    required: true
"""

CHECK_STATUSES = ("pass", "fail", "error", "skip")


def _text(v: Any) -> str:
    """Expected/observed values may be anything; non-strings are written as compact JSON."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    try:
        return json.dumps(v, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(v)


def _float(v: Any) -> float | None:
    if v is None or v == "":
        return None
    try:
        return round(float(v), 3)
    except (TypeError, ValueError):
        return None


def _bool(v: Any, default: bool) -> bool:
    if v is None or v == "":
        return default
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes", "on")
    return bool(v)


def _parse_time(text: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def seconds_between(started: str, finished: str = "") -> float | None:
    """Seconds from one ISO time to another (or to now); None when a time cannot be read."""
    a = _parse_time(str(started))
    b = _parse_time(str(finished)) if finished else datetime.now(timezone.utc)
    if a is None or b is None:
        return None
    return round((b - a).total_seconds(), 3)


def _evidence(paths: Any, run_dir: str) -> list[str]:
    if isinstance(paths, str):
        paths = [paths]
    out: list[str] = []
    for p in paths or []:
        p = str(p)
        if run_dir and os.path.isabs(p):
            rel = os.path.relpath(p, run_dir)
            if not rel.startswith(".."):
                p = rel  # the contract wants paths relative to the run directory
        if p and p not in out:
            out.append(p)
    return out


def _check(req_id: str, i: int, c: Any) -> dict[str, Any]:
    if not isinstance(c, dict):
        raise AnsibleFilterError(f"{req_id}: check #{i + 1} is not a mapping")
    name = _text(c.get("name")).strip()
    if not name:
        raise AnsibleFilterError(f"{req_id}: check #{i + 1} has no name")
    status = _text(c.get("status")).strip().lower()
    if status not in CHECK_STATUSES:
        raise AnsibleFilterError(
            f"{req_id}: check '{name}' has status '{status}' (one of {', '.join(CHECK_STATUSES)})"
        )
    return {
        "name": name,
        "status": status,
        "expected": _text(c.get("expected")),
        "observed": _text(c.get("observed")),
        "message": _text(c.get("message")),
        "required": _bool(c.get("required"), True),
        "needs_hardware": _bool(c.get("needs_hardware"), False),
        "duration_s": _float(c.get("duration_s")),
    }


def result_record(
    requirement: str,
    checks: Any = None,
    evidence: Any = None,
    notes: Any = "",
    needs_hardware: Any = False,
    simulated: Any = False,
    role: Any = "",
    started: Any = "",
    finished: Any = "",
    duration_s: Any = None,
    run_dir: Any = "",
) -> dict[str, Any]:
    req_id = _text(requirement).strip()
    if not req_id:
        raise AnsibleFilterError("result_record: empty requirement id")
    if checks is not None and not isinstance(checks, list):
        raise AnsibleFilterError(f"{req_id}: checks must be a list")
    norm = [_check(req_id, i, c) for i, c in enumerate(checks or [])]
    start = _text(started)
    finish = _text(finished) or now_utc()
    dur = _float(duration_s)
    if dur is None and start:
        dur = seconds_between(start, finish)
    return {
        "checks": norm,
        "evidence": _evidence(evidence, _text(run_dir)),
        "notes": _text(notes).strip(),
        "needs_hardware": _bool(needs_hardware, False) or any(c["needs_hardware"] for c in norm),
        "simulated": _bool(simulated, False),
        "role": _text(role),
        "started": start,
        "finished": finish,
        "duration_s": dur,
    }


class FilterModule:
    """harness.conformance result filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "result_record": result_record,
            "seconds_between": seconds_between,
        }
