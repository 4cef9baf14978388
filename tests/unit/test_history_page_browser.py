"""The history page opened in a real headless Chromium: what a reader sees, read back from the DOM.

Debian's chromium (scripts/bootstrap.sh installs it), driven by Playwright through its
``executable_path``: Playwright cannot download its own browsers here.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from unit_fixtures import make_sample_run

from harness import history
from harness.report.history_html import render_history_html
from harness.results import Outcome, Status

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).is_file():
    pytest.skip("Debian's chromium is not installed (scripts/bootstrap.sh installs it)", allow_module_level=True)

# Headless with nothing reaching out: this machine's network is closed, and a test must not wait on it.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip

# (day, gang_scheduling's status, outcome, duration, state of the night)
NIGHTS = [
    (20, Status.IMPLEMENTED, Outcome.PASSED, 20.0, "complete"),
    (21, Status.NOT_IMPLEMENTED, Outcome.ERROR, 10.0, "complete"),
    (22, Status.NOT_IMPLEMENTED, Outcome.FAILED, 40.0, "partial"),
    (23, Status.IMPLEMENTED, Outcome.PASSED, None, "complete"),
]


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("history")
    entries = []
    for day, status, outcome, duration, state in NIGHTS:
        run = make_sample_run()
        run.run_id = f"202611{day}T020000Z-0000{day}"
        run.finished = f"2026-11-{day}T02:10:00Z"
        run.state = state
        r = run.requirements["gang_scheduling"]
        r.status, r.outcome, r.duration_s = status, outcome, duration
        entries.append(history.entry_for(run, d / run.run_id, 1))
    path = d / "nightly.html"
    path.write_text(render_history_html(history.select(entries)), "utf-8")
    return path


@pytest.fixture(scope="module")
def page(page_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, list[str]]]:
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS, viewport={"width": 1200, "height": 900}
        )
        try:
            pg = ctx.new_page()
            pg.set_default_timeout(30_000)
            pg.on("request", lambda req: requests.append(req.url))
            pg.goto(page_file.as_uri(), wait_until="load")
            yield pg, requests
        finally:
            ctx.close()


def rgb(css: str) -> tuple[int, ...]:
    return tuple(int(x) for x in css[css.index("(") + 1 : css.index(")")].split(",")[:3])


def test_the_page_fetches_nothing_but_itself(page: tuple[Any, list[str]], page_file: Path) -> None:
    _, requests = page
    assert requests == [page_file.as_uri()]


def test_the_grid_shows_every_night_and_requirement(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    assert pg.is_visible("#status-grid")
    headers = pg.locator("#status-grid thead th.night")
    assert headers.count() == len(NIGHTS)
    assert [" ".join(t.split()) for t in headers.all_inner_texts()] == [f"11-{d} 02:10" for d, *_ in NIGHTS]
    # the partial night is marked
    marked = pg.eval_on_selector_all("#status-grid thead th.night", "els => els.map(e => e.classList.contains('partial'))")
    assert marked == [s == "partial" for *_, s in NIGHTS]
    rows = pg.eval_on_selector_all("#status-grid tbody tr", "els => els.map(e => e.dataset.requirement)")
    assert rows == list(make_sample_run().requirements)


def test_each_cell_shows_its_status_in_its_colour(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    cells = pg.eval_on_selector_all(
        'td.cell[data-requirement="gang_scheduling"]',
        """els => els.map(e => { const r = e.getBoundingClientRect();
             return {status: e.dataset.status, outcome: e.dataset.outcome, text: e.innerText.trim(),
                     bg: getComputedStyle(e).backgroundColor, w: r.width, h: r.height}; })""",
    )
    assert [(c["status"], c["outcome"]) for c in cells] == [(str(s), str(o)) for _, s, o, *_ in NIGHTS]
    assert [c["text"] for c in cells] == ["✓", "!", "✗", "✓"]
    assert all(c["w"] > 10 and c["h"] > 10 for c in cells)  # rendered, not collapsed
    passed, error, failed = rgb(cells[0]["bg"]), rgb(cells[1]["bg"]), rgb(cells[2]["bg"])
    assert rgb(cells[3]["bg"]) == passed
    assert passed[1] > passed[0] and passed[1] > passed[2]  # green
    assert failed[0] > failed[1] and failed[0] > failed[2]  # red
    assert len({passed, error, failed}) == 3  # an error does not look like a failure
    # a requirement that never changed shows the same colour every night
    steady = pg.eval_on_selector_all(
        'td.cell[data-requirement="ai_inference"]', "els => els.map(e => getComputedStyle(e).backgroundColor)"
    )
    assert len(steady) == len(NIGHTS) and set(steady) == {cells[0]["bg"]}


def test_duration_bars_are_drawn_to_scale(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    chart = 'figure.chart[data-requirement="gang_scheduling"]'
    assert pg.is_visible(chart)
    bars = pg.eval_on_selector_all(
        f"{chart} rect.bar",
        "els => els.map(e => ({run: e.dataset.runId, d: +e.dataset.duration, h: e.getBoundingClientRect().height}))",
    )
    expected = [(day, d) for day, _, _, d, _ in NIGHTS if d is not None]
    assert [b["d"] for b in bars] == [d for _, d in expected]  # the night without a duration has no bar
    tallest = max(b["h"] for b in bars)
    for b in bars:
        assert b["h"] == pytest.approx(tallest * b["d"] / 40.0, abs=1.0)
    assert "max 40 s" in pg.inner_text(f"{chart} figcaption")
    assert pg.locator('figure.chart[data-requirement="accelerator_metrics"] rect.bar').count() == 0


def test_simulated_nights_say_so(page: tuple[Any, list[str]]) -> None:
    pg, _ = page
    assert "prove the harness, not a platform" in pg.inner_text(".sim")
