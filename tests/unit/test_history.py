"""The history file: one line per verify, read back tolerantly; selecting nights; the terminal table."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from harness import history
from harness.report.history_table import history_table
from harness.results import Outcome, Status
from harness.run import Run
from unit_fixtures import make_sample_run


def night(day: int, lab: str = "local-sim", **changes: tuple[Status, Outcome, float | None]) -> Run:
    run = make_sample_run()
    run.run_id = f"202611{day:02d}T020000Z-{day:06x}"
    run.finished = f"2026-11-{day:02d}T02:10:00Z"
    run.lab.name = lab
    for rid, (status, outcome, duration) in changes.items():
        r = run.requirements[rid]
        r.status, r.outcome, r.duration_s = status, outcome, duration
    return run


def test_a_line_holds_lab_versions_counts_and_each_requirement(tmp_path: Path) -> None:
    run = night(20)
    path = tmp_path / "history.jsonl"
    history.append(path, history.entry_for(run, tmp_path / run.run_id, 1))
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["lab"] == "local-sim" and doc["simulated"] is True and doc["exit_code"] == 1
    assert doc["harness_version"] == "0.1.0" and doc["kubernetes_version"] == "v1.37.2"
    assert doc["components"] == {"kubernetes": "v1.37.2"}
    assert doc["counts"] == {"Implemented": 4, "N/A": 2, "Not Implemented": 4, "Partially Implemented": 1}
    assert doc["requirements"]["gang_scheduling"] == {"status": "Implemented", "outcome": "passed", "duration_s": 33.5}
    assert doc["requirements"]["accelerator_metrics"]["outcome"] == "error"
    assert list(doc["requirements"]) == list(run.requirements)  # the checklist order survives


def test_appending_keeps_earlier_lines_and_a_broken_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "history.jsonl"
    history.append(path, history.entry_for(night(20), tmp_path, 0))
    with path.open("a") as fh:
        fh.write('{"time": "2026-11-21T02:10:00Z", "run_id": "half a li\n')  # a night killed mid-write
        fh.write('["not", "an", "object"]\n')
    history.append(path, history.entry_for(night(22), tmp_path, 1))
    entries, problems = history.load(path)
    assert [e.run_id for e in entries] == [night(20).run_id, night(22).run_id]
    assert len(problems) == 2 and problems[0].startswith(f"{path}:2: ") and f"{path}:3: " in problems[1]
    assert entries[1].requirements["ai_inference"] == history.Point("Implemented", "passed", None)


def test_select_one_lab_oldest_first_and_the_last_n(tmp_path: Path) -> None:
    entries = [history.entry_for(r, tmp_path, 0)
               for r in (night(22), night(20), night(21, lab="gpu-a"), night(23), night(19))]  # fmt: skip
    assert [e.time[8:10] for e in history.select(entries)] == ["19", "20", "22", "23"]
    assert [e.time[8:10] for e in history.select(entries, last=2)] == ["22", "23"]
    assert [e.lab for e in history.select(entries, lab="gpu-a")] == ["gpu-a"]
    assert history.select(entries, lab="nope") == []


def test_requirement_order_is_the_newest_nights_then_older_ids(tmp_path: Path) -> None:
    old, new = night(20), night(21)
    del new.requirements["dra_support"]  # dropped from the newer checklist
    ids = history.requirement_ids([history.entry_for(old, tmp_path, 0), history.entry_for(new, tmp_path, 0)])
    assert ids == [*new.requirements, "dra_support"]


def test_latest_run_dir_is_the_newest_that_still_exists(tmp_path: Path) -> None:
    runs = [night(20), night(21), night(22, lab="other")]
    entries = []
    for r in runs:
        d = tmp_path / r.run_id
        d.mkdir()
        r.save(d)
        entries.append(history.entry_for(r, d, 0))
    entries.append(history.entry_for(night(23), tmp_path / "removed-run", 0))
    assert history.latest_run_dir(entries, "local-sim") == tmp_path / runs[1].run_id
    assert history.latest_run_dir(entries, "unknown-lab") is None


def test_kind_tells_failed_error_and_declared_apart() -> None:
    P = history.Point
    assert history.kind(P("Not Implemented", "failed")) == "failed"
    assert history.kind(P("Not Implemented", "error")) == "error"
    assert history.kind(P("N/A", "declared")) == "na"
    assert history.kind(P("Partially Implemented", "declared")) == "partial"
    assert history.kind(P("Not Implemented", "something-new")) == "missing"
    assert history.kind(None) == "absent"


def test_terminal_table_shows_marks_per_night(tmp_path: Path) -> None:
    nights = [
        history.entry_for(night(20), tmp_path, 1),
        history.entry_for(night(21, gang_scheduling=(Status.NOT_IMPLEMENTED, Outcome.FAILED, 50.0)), tmp_path, 1),
    ]
    out = io.StringIO()
    Console(file=out, width=200).print(history_table(nights))
    text = out.getvalue()
    row = next(line for line in text.splitlines() if "gang_scheduling" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells == ["gang_scheduling", "✓", "✗", "50.0"]
    implemented = next(line for line in text.splitlines() if "Implemented " in line and "/11" in line)
    assert "4/11" in implemented and "3/11" in implemented
    assert "11-20" in text and "11-21" in text and "SIMULATED" in text
