"""The history of runs: one JSON line per ``harness verify``, appended to ``<runs dir>/history.jsonl``.

A line holds what a morning reader compares across nights: when, which lab, the harness and
component versions the run recorded (run.json's ``lab``; nothing here asks the cluster), the
verdict counts and each requirement's status, outcome and duration. Lines are only ever appended,
so a night killed mid-write costs at most its own (last) line, which :func:`load` skips.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.run import Run

HISTORY_FILE = "history.jsonl"
FORMAT = 1


@dataclass(frozen=True)
class Point:
    """One requirement in one night."""

    status: str  # the CNCF status
    outcome: str  # why (passed, failed, error, incomplete, missing, declared)
    duration_s: float | None = None


@dataclass(frozen=True)
class Entry:
    """One night (one verify run)."""

    time: str  # when the run finished (ISO 8601 UTC), or started when it never finished
    run_id: str
    run_dir: str
    lab: str
    inventory: str
    simulated: bool
    harness_version: str
    kubernetes_version: str
    components: dict[str, str]
    checklists: list[str]
    state: str  # complete | partial
    exit_code: int
    duration_s: float | None
    counts: dict[str, int]  # CNCF status -> number of requirements
    requirements: dict[str, Point] = field(default_factory=dict)
    format: int = FORMAT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Entry:
        reqs = d["requirements"]
        if not isinstance(reqs, dict):
            raise TypeError("requirements is not a mapping")
        return cls(
            time=str(d["time"]),
            run_id=str(d["run_id"]),
            run_dir=str(d.get("run_dir", "")),
            lab=str(d["lab"]),
            inventory=str(d.get("inventory", "")),
            simulated=bool(d.get("simulated", False)),
            harness_version=str(d.get("harness_version", "")),
            kubernetes_version=str(d.get("kubernetes_version", "")),
            components={str(k): str(v) for k, v in (d.get("components") or {}).items()},
            checklists=[str(c) for c in d.get("checklists") or []],
            state=str(d.get("state", "")),
            exit_code=int(d.get("exit_code", -1)),
            duration_s=_float(d.get("duration_s")),
            counts={str(k): int(v) for k, v in (d.get("counts") or {}).items()},
            requirements={
                str(k): Point(str(v["status"]), str(v.get("outcome", "")), _float(v.get("duration_s")))
                for k, v in reqs.items()
            },
            format=int(d.get("format", FORMAT)),
        )


def entry_for(run: Run, run_dir: Path, exit_code: int) -> Entry:
    counts: dict[str, int] = {}
    for r in run.requirements.values():
        counts[str(r.status)] = counts.get(str(r.status), 0) + 1
    return Entry(
        time=run.finished or run.started,
        run_id=run.run_id,
        run_dir=str(run_dir),
        lab=run.lab.name,
        inventory=run.lab.inventory,
        simulated=run.lab.simulated,
        harness_version=run.harness_version,
        kubernetes_version=run.lab.kubernetes_version,
        components=dict(run.lab.components),
        checklists=list(run.checklists),
        state=run.state,
        exit_code=exit_code,
        duration_s=run.duration_s,
        counts=counts,
        requirements={
            rid: Point(str(r.status), str(r.outcome), r.duration_s) for rid, r in run.requirements.items()
        },
    )


#: How one requirement in one night is shown, in the terminal and on the HTML page: a kind
#: (colour) and a mark. Failed and error stay apart: a broken lab is not a non-conformant platform.
MARKS = {
    "passed": "✓", "failed": "✗", "error": "!", "incomplete": "?", "missing": "–",
    "na": "n/a", "partial": "~", "absent": "",
}  # fmt: skip
MEANINGS = {
    "passed": "Implemented: every needed check passed",
    "failed": "a check failed",
    "error": "a check could not tell (lab or harness problem)",
    "incomplete": "not proven (a required check skipped, e.g. needs real hardware)",
    "missing": "no result came back",
    "na": "declared N/A by the inventory",
    "partial": "declared Partially Implemented by the inventory",
    "absent": "not verified that night",
}


def kind(point: Point | None) -> str:
    if point is None:
        return "absent"
    if point.outcome == "declared":
        return "na" if point.status == "N/A" else "partial"
    return point.outcome if point.outcome in MARKS else "missing"


def default_path(runs_dir: Path) -> Path:
    return runs_dir / HISTORY_FILE


def append(path: Path, entry: Entry) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry.to_dict(), separators=(",", ":")) + "\n"  # keeps the checklist order
    # One write in append mode: concurrent runs add whole lines, never interleaved halves.
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line)


def load(path: Path) -> tuple[list[Entry], list[str]]:
    """Every readable line of ``path`` (oldest first) and one problem line per unreadable one."""
    entries: list[Entry] = []
    problems: list[str] = []
    for n, line in enumerate(path.read_text("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            if not isinstance(doc, dict):
                raise TypeError("not a JSON object")
            entries.append(Entry.from_dict(doc))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            problems.append(f"{path}:{n}: not a history line ({type(e).__name__}: {e})")
    return entries, problems


def select(entries: list[Entry], lab: str | None = None, last: int | None = None) -> list[Entry]:
    """The nights of one lab (default: the newest entry's), oldest first, at most ``last``."""
    if not entries:
        return []
    name = lab if lab is not None else max(entries, key=lambda e: e.time).lab
    chosen = sorted((e for e in entries if e.lab == name), key=lambda e: e.time)
    return chosen[-last:] if last else chosen


def requirement_ids(entries: list[Entry]) -> list[str]:
    """Requirement ids in the newest night's (checklist) order, then ids only older nights have."""
    ids: list[str] = []
    for e in reversed(entries):
        ids += [i for i in e.requirements if i not in ids]
    return ids


def latest_run_dir(entries: list[Entry], lab: str) -> Path | None:
    """The newest run of ``lab`` whose run directory still holds a run.json (a nightly baseline)."""
    for e in sorted((e for e in entries if e.lab == lab), key=lambda e: e.time, reverse=True):
        if e.run_dir and (Path(e.run_dir) / "run.json").is_file():
            return Path(e.run_dir)
    return None


def _float(v: Any) -> float | None:
    try:
        return None if v is None or v == "" else float(v)
    except (TypeError, ValueError):
        return None
