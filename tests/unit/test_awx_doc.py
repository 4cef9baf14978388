"""The script in docs/awx.md turns an AWX job of verify.yml into a run directory `harness report` reads,
with the harness's status rules (missing is Not Implemented, declared N/A stays N/A)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from harness.cli import main
from harness.run import Run

DOC = Path(__file__).resolve().parents[2] / "docs" / "awx.md"


def script() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    found = [b for b in blocks if b.startswith("# awx_job_to_run.py")]
    assert len(found) == 1
    return found[0]


def test_a_recorded_job_becomes_a_run(tmp_path: Path) -> None:
    inv = tmp_path / "my-gpu-lab"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text("all:\n  hosts: {}\n")
    (inv / "group_vars" / "all.yml").write_text(
        "harness_lab_kind: existing\n"
        "harness_declared:\n  cluster_autoscaling:\n    status: N/A\n    reason: Fixed node pool.\n"
    )
    job = {  # the fields of GET /api/v2/jobs/<id>/ the script reads
        "id": 4711, "status": "successful", "elapsed": 321.5,
        "started": "2026-11-23T02:00:00Z", "finished": "2026-11-23T02:05:21Z",
        "extra_vars": json.dumps({"harness_requirements": [
            "ai_inference", "gang_scheduling", "robust_controller", "cluster_autoscaling"]}),
        "artifacts": {
            "harness_lab_facts": {"kubernetes_version": "v1.37.2"},
            "harness_results": {
                "ai_inference": {"checks": [{"name": "route", "status": "pass"}], "duration_s": 12.0},
                "gang_scheduling": {"checks": [{"name": "gang", "status": "fail", "observed": "3/4"}]},
            },
        },
    }  # fmt: skip
    (tmp_path / "job.json").write_text(json.dumps(job))
    (tmp_path / "awx_job_to_run.py").write_text(script())
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "awx_job_to_run.py"), str(tmp_path / "job.json"), str(inv), str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run_dir = Path(proc.stdout.strip())
    assert run_dir == tmp_path / "runs" / "awx-4711"
    run = Run.load(run_dir)
    got = {k: (str(v.status), str(v.outcome)) for k, v in run.requirements.items()}
    assert got == {
        "ai_inference": ("Implemented", "passed"),
        "gang_scheduling": ("Not Implemented", "failed"),
        "robust_controller": ("Not Implemented", "missing"),
        "cluster_autoscaling": ("N/A", "declared"),
    }
    assert run.lab.kubernetes_version == "v1.37.2" and run.state == "complete"
    assert main(["report", "--from", str(run_dir), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert list((tmp_path / "out").glob("*/results/junit.xml"))
