"""The step ledger with a real ansible-runner and no lab (fake roles in tests/integration/roles).

A role that opens its requirement's ledger and records judged steps (harness.conformance.evidence
``step:``) passes no lists to emit: the record holds the steps' checks and files in order. A role
that breaks after some steps keeps them: the rescue's error check comes after them. No ledger is left
in the run directory, and none reaches the evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fake_inventory import write_inventory
from harness.cli import main
from harness.results import CheckStatus
from harness.run import Run

pytestmark = pytest.mark.integration

ROLES = Path(__file__).resolve().parent / "roles"


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    return write_inventory(tmp_path, "/nonexistent/kubeconfig")  # no cluster: the fake roles need none


def test_steps_become_the_record_and_a_broken_role_keeps_its_steps(
    inventory: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["verify", "-i", str(inventory), "--run-dir", str(tmp_path / "runs"), "--roles-path", str(ROLES),
          "--no-project-roles", "--checklist", "v1.35", "--only", "accelerator_metrics,virtualized_accelerator",
          "--json", "--no-report"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    run_dir = Path(str(summary["run_dir"]))
    run = Run.load(run_dir)

    metrics = run.requirements["accelerator_metrics"]
    assert [(c.name, c.status) for c in metrics.checks] == [
        ("Exporter answers", CheckStatus.PASS), ("Prometheus scrapes the exporter", CheckStatus.FAIL)]
    assert metrics.evidence == ["evidence/accelerator_metrics/metrics.txt", "evidence/accelerator_metrics/output.md"]
    assert metrics.notes == "Fake role for the step-ledger integration test."
    notebook = (run_dir / "evidence/accelerator_metrics/output.md").read_text("utf-8")
    assert "## The exporter answers" in notebook and "## Prometheus scrapes it" in notebook

    broken = run.requirements["virtualized_accelerator"]
    assert [(c.name, c.status) for c in broken.checks] == [
        ("Virtual GPUs listed", CheckStatus.PASS), ("verify_virtualized_accelerator ran to completion", CheckStatus.ERROR)]
    assert "the probe step broke" in (broken.checks[1].message or "")
    assert broken.evidence == ["evidence/virtualized_accelerator/output.md"]

    assert not (run_dir / "steps").exists()  # collected and removed
    assert not [p for p in (run_dir / "evidence").rglob("*.jsonl")]
