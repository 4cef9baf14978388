"""Reading the verify gate's log: each role's span, and how many ran at once."""

from __future__ import annotations

import json
from pathlib import Path

from harness.gate_log import GATE_FILE, most_at_once, spans


def write_log(run_dir: Path, *events: tuple[str, str, float]) -> None:
    path = run_dir / GATE_FILE
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"log": [{"requirement": r, "event": e, "t": t} for r, e, t in events]}))


def test_spans_and_overlap(tmp_path: Path) -> None:
    write_log(tmp_path, ("a", "enter", 1.0), ("b", "enter", 2.0), ("a", "leave", 3.0), ("c", "enter", 3.0),
              ("b", "leave", 5.0), ("", "close", 6.0), ("d", "leave", 6.5))  # fmt: skip
    got = spans(tmp_path)
    # c never left (the run was cut short): it ends with the log; d never entered: no span
    assert got == {"a": (1.0, 3.0), "b": (2.0, 5.0), "c": (3.0, 6.5)}
    assert most_at_once(got) == 2  # c starts as a leaves: they do not overlap


def test_one_at_a_time_and_no_log(tmp_path: Path) -> None:
    assert most_at_once({"a": (1.0, 2.0), "b": (2.0, 3.0)}) == 1
    assert spans(tmp_path) == {} and most_at_once({}) == 0
