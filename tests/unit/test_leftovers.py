"""harness.leftovers: the cleanup-pending marker a run holds, which runs the next one sweeps; and
the requirement a broken run was in (its cluster stopped answering, or the run was stopped): an
error, never a pass."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from harness import leftovers
from harness.lab import Lab
from harness.results import CheckStatus, Outcome, Status
from harness.verify import build_requirements, lab_lost


def _kubeconfig(tmp_path: Path, name: str = "kubeconfig") -> Path:
    p = tmp_path / name
    p.write_text("apiVersion: v1\nkind: Config\n")
    return p


def _run_dir(runs: Path, run_id: str) -> Path:
    d = runs / run_id
    d.mkdir(parents=True)
    return d


def test_a_live_run_is_never_swept_and_a_clean_one_leaves_no_marker(tmp_path: Path) -> None:
    kc, runs = _kubeconfig(tmp_path), tmp_path / "runs"
    claim = leftovers.claim(_run_dir(runs, "r1"), "r1", kc)
    doc = json.loads((runs / "r1" / leftovers.MARKER).read_text())
    assert doc["run_id"] == "r1" and doc["kubeconfig"] == str(kc.resolve())
    assert leftovers.pending(runs, kc) == []  # locked: a run in progress
    claim.release(clean=True)
    assert not (runs / "r1" / leftovers.MARKER).exists()
    assert leftovers.pending(runs, kc) == []


def test_a_run_that_could_not_clean_up_is_swept_by_the_next(tmp_path: Path) -> None:
    kc, runs = _kubeconfig(tmp_path), tmp_path / "runs"
    leftovers.claim(_run_dir(runs, "r1"), "r1", kc).release(clean=False)
    found = leftovers.pending(runs, kc, exclude="r2")
    assert [(p.run_id, p.run_dir) for p in found] == [("r1", runs / "r1")]
    assert leftovers.pending(runs, kc, exclude="r1") == []  # a run never sweeps itself
    assert leftovers.pending(runs, _kubeconfig(tmp_path, "other")) == []  # another cluster's run
    leftovers.settle(found)
    assert leftovers.pending(runs, kc) == []


def test_a_killed_run_leaves_its_marker_unlocked(tmp_path: Path) -> None:
    kc, runs = _kubeconfig(tmp_path), tmp_path / "runs"
    run_dir = _run_dir(runs, "killed")
    code = (f"import sys, time; from pathlib import Path; from harness import leftovers; "
            f"c = leftovers.claim(Path({str(run_dir)!r}), 'killed', Path({str(kc)!r})); print('claimed', flush=True); "
            f"time.sleep(60)")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "claimed"
        assert leftovers.pending(runs, kc) == []  # alive: its lock is held
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert [p.run_id for p in leftovers.pending(runs, kc)] == ["killed"]


def test_unreadable_markers_are_skipped(tmp_path: Path) -> None:
    kc, runs = _kubeconfig(tmp_path), tmp_path / "runs"
    (_run_dir(runs, "bad") / leftovers.MARKER).write_text("{not json")
    (_run_dir(runs, "noid") / leftovers.MARKER).write_text('{"kubeconfig": "x"}')
    assert leftovers.pending(runs, kc) == []
    assert leftovers.pending(tmp_path / "absent", kc) == []


def test_swept_reads_cleanup_stats() -> None:
    assert not leftovers.swept({}).clean
    got = leftovers.swept({"harness_cleanup": {"reached": True, "deleted": ["Namespace/a"], "left": []}})
    assert got.clean and got.deleted == ["Namespace/a"]
    left = leftovers.swept({"harness_cleanup": {"reached": True, "deleted": ["Namespace/a"], "left": ["Namespace/a"]}})
    assert not left.clean
    assert not leftovers.swept({"harness_cleanup": {"reached": False, "deleted": [], "left": []}}).clean


def test_the_requirement_whose_cluster_went_away_is_an_error_never_a_pass() -> None:
    lab = Lab(name="t", path=Path("."), kind="existing", simulated=True, declared={})
    data = {
        "harness_results": {
            "dra_support": {"checks": [{"name": "a", "status": "pass"}]},
            "ai_inference": {"checks": [{"name": "a", "status": "pass"}]},  # judged before the cluster went
        },
        "harness_lab_lost": {"requirement": "ai_inference", "waited_s": 30, "message": "Connection refused"},
    }
    res = build_requirements(["dra_support", "ai_inference", "gang_scheduling"], data, lab)
    assert (res["dra_support"].status, res["dra_support"].outcome) == (Status.IMPLEMENTED, Outcome.PASSED)
    ai = res["ai_inference"]
    assert (ai.status, ai.outcome) == (Status.NOT_IMPLEMENTED, Outcome.ERROR)
    assert ai.checks[-1].status is CheckStatus.ERROR and "Connection refused" in ai.checks[-1].observed
    assert res["gang_scheduling"].outcome is Outcome.MISSING  # never ran
    # a lost cluster with no record from the role still gives an error, not "missing"
    res = build_requirements(["ai_inference"], {"harness_lab_lost": {"requirement": "ai_inference"}}, lab)
    assert res["ai_inference"].outcome is Outcome.ERROR
    assert lab_lost({}) is None and lab_lost({"harness_lab_lost": "x"}) is None


def test_a_role_stopped_before_it_reported_is_an_error_not_missing() -> None:
    lab = Lab(name="t", path=Path("."), kind="existing", simulated=True, declared={})
    res = build_requirements(["ai_inference", "gang_scheduling"], {}, lab, interrupted="ai_inference")
    ai = res["ai_inference"]
    assert (ai.status, ai.outcome) == (Status.NOT_IMPLEMENTED, Outcome.ERROR)
    assert [c.name for c in ai.checks] == ["verify_ai_inference ran to completion"]
    assert res["gang_scheduling"].outcome is Outcome.MISSING  # never started
