"""Shared fixtures: a small, fixed run covering every kind of outcome (helpers in unit_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.run import Run
from unit_fixtures import EVIDENCE, make_sample_run


@pytest.fixture
def sample_run() -> Run:
    return make_sample_run()


@pytest.fixture
def sample_run_dir(tmp_path: Path) -> Path:
    """A run directory: run.json plus the evidence files its requirements reference."""
    run_dir = tmp_path / "runs" / "20261123T150000Z-abc123"
    for rel, text in EVIDENCE.items():
        (run_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (run_dir / rel).write_text(text, "utf-8")
    run_dir.mkdir(parents=True, exist_ok=True)
    make_sample_run().save(run_dir)
    return run_dir
