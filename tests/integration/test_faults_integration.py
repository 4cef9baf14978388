"""Faults with a real ansible-runner and no lab.

- A cluster that does not answer, with the fake verify roles (tests/integration/roles): the run
  stops after the first role that errs or fails once the cluster gives no answer for
  --cluster-wait seconds (partial, exit 3, that requirement an error, the rest not run), keeps its
  cleanup-pending marker, and the next run sweeps that run's id first.
- A run cancelled while an ``async`` task's job runs (ansible's async_wrapper daemonizes it out of
  ansible-playbook's process tree): no process of the run is left.

The lab version of these faults (a real API server killed mid-run, signals) is tests/lab/test_faults.py."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.runner import make_run_dir, run_playbook
from harness.leftovers import MARKER
from harness.results import CheckStatus, Outcome, Status
from harness.run import Run

pytestmark = pytest.mark.integration

ROLES = Path(__file__).resolve().parent / "roles"


@pytest.fixture
def inventory(dead_cluster_inventory: Path) -> Path:
    return dead_cluster_inventory


def _verify(inv: Path, runs: Path, only: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = main([
        "verify", "-i", str(inv), "--run-dir", str(runs), "--roles-path", str(ROLES), "--no-project-roles",
        "--checklist", "v1.35", "--only", only, "--cluster-wait", "4", "--json", "--no-report",
    ])  # fmt: skip
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[-1]["type"] == "summary"
    return code, lines[-1]


def test_a_cluster_that_does_not_answer_stops_the_run_and_the_next_run_sweeps_it(
    inventory: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    start = time.monotonic()
    code, summary = _verify(inventory, runs, "dra_support,gpu_sharing,ai_inference", capsys)
    took = time.monotonic() - start
    run_dir = Path(str(summary["run_dir"]))
    run = Run.load(run_dir)
    assert code == 3 == summary["exit_code"]
    assert run.state == "partial" and run.interruption is not None and run.interruption["reason"] == "error"
    assert "did not answer during gpu_sharing" in run.interruption["message"]
    # what ran before is kept as it was
    assert run.requirements["dra_support"].status is Status.IMPLEMENTED
    # the requirement after which the cluster gave no answer: an error, never its own verdict
    gpu = run.requirements["gpu_sharing"]
    assert gpu.outcome is Outcome.ERROR
    assert gpu.checks[-1].name == "The cluster answered while verify_gpu_sharing ran"
    assert gpu.checks[-1].status is CheckStatus.ERROR
    # the rest never ran (the fake ai_inference role would have emitted a pass and an error)
    assert run.requirements["ai_inference"].outcome is Outcome.MISSING
    assert summary["cleanup"] is None  # nothing to reach: left to the next run
    assert (run_dir / MARKER).is_file()
    assert took < 90, f"the run took {took:.0f}s"

    # The next run in the same runs directory sweeps the broken run's id before it starts; with the
    # cluster still silent nothing is deleted and the marker stays for the run after.
    code2, summary2 = _verify(inventory, runs, "dra_support", capsys)
    assert code2 == 0
    sweep = summary2["sweep"]
    assert isinstance(sweep, dict)
    assert sweep["runs"] == [run.run_id] and sweep["reached"] is False and sweep["status"] == "successful"
    assert (run_dir / MARKER).is_file()
    assert (Path(str(summary2["run_dir"])) / "logs" / "sweep.log").is_file()
    # the second run finished and errored nowhere: it left nothing, so it keeps no marker
    assert not (Path(str(summary2["run_dir"])) / MARKER).exists()


ASYNC_PLAYBOOK = """\
- name: Async job
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Async | a long job, polled
      ansible.builtin.command: sleep 117
      async: 300
      poll: 2
      changed_when: false
"""


def _processes_with_env(entry: bytes) -> list[str]:
    found = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            env = b"\0" + (d / "environ").read_bytes() + b"\0"
            stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if b"\0" + entry + b"\0" in env and stat[0] != "Z":
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{d.name} {cmd}")
    return found


def test_a_cancelled_async_job_is_not_left_running(tmp_path: Path) -> None:
    playbook = tmp_path / "async.yml"
    playbook.write_text(ASYNC_PLAYBOOK)
    run_dir = make_run_dir(tmp_path / "runs", "async").resolve()
    marker = f"AWX_ISOLATED_DATA_DIR={run_dir / 'ansible' / 'artifacts' / 'async'}".encode()
    seen: list[str] = []

    def cancel() -> bool:  # once the job runs, detached from ansible-playbook
        if not seen:
            seen.extend(p for p in _processes_with_env(marker) if "sleep 117" in p)
        return bool(seen)

    start = time.monotonic()
    outcome = run_playbook(playbook, None, run_dir, {}, cancel=cancel, ident="async", timeout=120)
    assert outcome.status == "canceled", outcome
    assert seen, "the async job never ran"
    assert time.monotonic() - start < 60
    time.sleep(0.5)
    assert _processes_with_env(marker) == []
