"""Lab: the whole default lab verified in parallel and with --serial.

Both runs must report the same thing for every requirement: status, outcome, every check's name,
status and kind, evidence files and notebook steps (accel_lab.verify_shape). (The roles' golden
shapes come from their own tests, which pass role variables; this run passes none.) The gate's log
shows the roles did overlap in the parallel run and did not in the serial one. The times are printed, not asserted (bench/verify_bench.py measures).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.gate_log import GATE_FILE, most_at_once, spans
from harness.run import Run
from accel_lab import verify_shape
from lab_fixtures import INVENTORY, REPO

pytestmark = pytest.mark.lab

CHECKLISTS = ["--checklist", "v1.35", "--checklist", "v1.37"]  # every requirement with a role


def _verify(tmp_path: Path, name: str, *extra: str) -> tuple[Run, Path]:
    runs = tmp_path / name
    cmd = [sys.executable, "-m", "harness.cli", "verify", "-i", str(INVENTORY), *CHECKLISTS, "--run-dir", str(runs), "--quiet", "--no-report", *extra]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1500,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    assert proc.returncode in (0, 1), f"harness verify {name} crashed (rc={proc.returncode}):\n{proc.stderr[-3000:]}"
    (run_dir,) = [d for d in runs.iterdir() if d.is_dir()]
    run = Run.load(run_dir)
    assert run.state == "complete", run.interruption
    return run, run_dir


def test_parallel_verify_reports_what_a_serial_one_does(lab: Any, tmp_path: Path) -> None:
    par, par_dir = _verify(tmp_path, "parallel")
    ser, ser_dir = _verify(tmp_path, "serial", "--serial")
    ran = [rid for rid, r in par.requirements.items() if r.declared is None]
    assert len(ran) >= 15 and set(par.requirements) == set(ser.requirements)
    for rid in ran:
        assert verify_shape(par.requirements[rid], par_dir, rid) == verify_shape(ser.requirements[rid], ser_dir, rid), rid
    assert {r: str(v.status) for r, v in par.requirements.items()} == {r: str(v.status) for r, v in ser.requirements.items()}
    par_spans, ser_spans = spans(par_dir), spans(ser_dir)
    assert set(par_spans) == set(ser_spans) == set(ran)
    assert most_at_once(ser_spans) == 1
    assert most_at_once(par_spans) >= 5
    # the plan counted the lab's GPUs (harness.conformance.accelerator_count) and the gate kept within them
    gpus = int(lab.vars["sim_lab_gpu_node_count"]) * int(lab.vars["sim_lab_gpus_per_node"])
    capacity = json.loads((par_dir / GATE_FILE).read_text())["capacity"]
    assert set(capacity) == {"accelerators"} and capacity["accelerators"] >= gpus, capacity
    longest = max((r.duration_s or 0.0, rid) for rid, r in par.requirements.items())
    print(f"\nparallel verify {par.duration_s:.0f} s (longest requirement {longest[1]} {longest[0]:.0f} s, "
          f"ratio {par.duration_s / max(longest[0], 1):.2f}, at most {most_at_once(par_spans)} at once); "
          f"serial verify {ser.duration_s:.0f} s")
