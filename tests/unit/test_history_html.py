"""The history page as text: self-contained, escaped, one cell per requirement and night."""

from __future__ import annotations

import re
from pathlib import Path

from unit_fixtures import make_sample_run

from harness import history
from harness.report.history_html import render_history_html
from harness.results import Outcome, Status


def nights(tmp_path: Path, n: int = 3) -> list[history.Entry]:
    out = []
    for day in range(n):
        run = make_sample_run()
        run.run_id = f"202611{20 + day}T020000Z-00000{day}"
        run.finished = f"2026-11-{20 + day}T02:10:00Z"
        if day == n - 1:
            r = run.requirements["gang_scheduling"]
            r.status, r.outcome, r.duration_s = Status.NOT_IMPLEMENTED, Outcome.FAILED, 50.0
            run.lab.components["kubernetes"] = "v1.37.3"
        out.append(history.entry_for(run, tmp_path / run.run_id, 1))
    return out


def test_page_loads_nothing_from_outside(tmp_path: Path) -> None:
    page = render_history_html(nights(tmp_path))
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert not re.search(r"""\b(src|href)\s*=""", page, re.IGNORECASE)
    assert "url(" not in page and "@import" not in page
    # the only URL is the SVG namespace, which is a name, not a fetch
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}


def test_one_cell_per_requirement_and_night(tmp_path: Path) -> None:
    page = render_history_html(nights(tmp_path))
    cells = re.findall(r'<td class="cell k-(\w+)" data-requirement="(\w+)" data-run-id="([^"]+)"', page)
    assert len(cells) == 11 * 3
    gang = [k for k, rid, _ in cells if rid == "gang_scheduling"]
    assert gang == ["passed", "passed", "failed"]
    assert page.count('<th class="night') == 3 * 2  # status grid and versions table
    assert page.count('class="bar ') == 3 * 2  # only gang_scheduling and secure_accelerator_access have durations


def test_a_version_change_is_highlighted(tmp_path: Path) -> None:
    page = render_history_html(nights(tmp_path))
    assert '<td class="changed">v1.37.3</td>' in page


def test_names_are_escaped(tmp_path: Path) -> None:
    entries = nights(tmp_path, 1)
    bad = history.Entry(**{**entries[0].__dict__, "lab": "<img src=x onerror=alert(1)>", "run_id": '"><b>'})
    page = render_history_html([bad])
    assert "<img" not in page and '"><b>' not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
