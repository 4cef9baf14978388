"""Run one verify role for real against the simulated lab and read back its result.

Each verify role has a test file here with (at least) one test where the lab is healthy (the
requirement passes) and one where the thing it checks is broken (it fails).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.results import RequirementResult
from harness.run import Run

REPO = Path(__file__).resolve().parents[3]
HARNESS = [sys.executable, "-m", "harness.cli"]

RunVerify = Callable[..., tuple[RequirementResult, Path]]


@pytest.fixture(scope="session")
def role_inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab's inventory without its declarations: these tests exercise the roles themselves,
    which a declared N/A (cluster_autoscaling on the simulated lab) would otherwise skip."""
    src = REPO / "inventories" / "local-sim"
    dst = tmp_path_factory.mktemp("inventory") / "local-sim"
    shutil.copytree(src, dst)
    group_vars = dst / "group_vars" / "all.yml"
    data = yaml.safe_load(group_vars.read_text("utf-8"))
    data.pop("harness_declared", None)
    group_vars.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return dst


@pytest.fixture
def run_verify(lab: Any, tmp_path: Path, role_inventory: Path) -> RunVerify:
    """``run_verify(req_id, checklist=None, **extravars) -> (result, run_dir)``: ``harness verify --only req_id``.

    ``checklist`` picks the CNCF checklist (``--checklist``) for ids the newest one lacks (dra_support).
    """

    def _run(req_id: str, checklist: str | None = None, **extravars: Any) -> tuple[RequirementResult, Path]:
        runs_dir = tmp_path / f"runs-{req_id}-{len(list(tmp_path.iterdir()))}"
        cmd = [
            *HARNESS, "verify", "-i", str(role_inventory),
            "--only", req_id, "--run-dir", str(runs_dir), "--quiet",
        ]
        if checklist:
            cmd += ["--checklist", checklist]
        for k, v in extravars.items():
            cmd += ["-e", f"{k}={json.dumps(v)}"]
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert proc.returncode in (0, 1), f"harness verify crashed (rc={proc.returncode}):\n{proc.stderr[-3000:]}"
        (run_dir,) = [d for d in runs_dir.iterdir() if d.is_dir()]  # --run-dir holds one run dir per run
        run = Run.load(run_dir)
        assert req_id in run.requirements, f"no result for {req_id}: {proc.stderr[-2000:]}"
        return run.requirements[req_id], run_dir

    return _run
