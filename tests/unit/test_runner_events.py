"""The event tracker: progress events, collected set_stats data, summary; run ids."""

from __future__ import annotations

import re
import time
from typing import Any

from harness import runner
from harness.runner import ProgressEvent


def ev(name: str, **data: Any) -> dict[str, Any]:
    return {"event": name, "event_data": data}


def stats_ok(data: dict[str, Any], per_host: bool = False) -> dict[str, Any]:
    return ev("runner_on_ok", task="Emit | Publish the record through set_stats",
              res={"ansible_stats": {"data": data, "per_host": per_host, "aggregate": True}})  # fmt: skip


def record(*statuses: str) -> dict[str, Any]:
    return {"checks": [{"name": f"c{i}", "status": s} for i, s in enumerate(statuses)]}


def test_tracker_follows_plays_requirements_and_results() -> None:
    seen: list[ProgressEvent] = []
    t = runner._EventTracker(seen.append, time.monotonic())
    t(ev("playbook_on_play_start", play="Verify | Run"))
    t(ev("playbook_on_task_start", task="Verify | Locate the role of dra_support"))
    t(stats_ok({"harness_results": {"dra_support": record("pass", "pass")}}))
    t(ev("playbook_on_task_start", task="Verify | Locate the role of gpu_sharing"))
    t(ev("runner_on_failed", task="Probe", host="localhost", res={"msg": "boom"}))
    t(stats_ok({"harness_results": {"gpu_sharing": record("pass", "error")}}))
    t(stats_ok({"ignored": 1}, per_host=True))
    kinds = [(e.kind, e.requirement) for e in seen if e.kind not in ("task", "done")]
    assert kinds == [("play", ""), ("requirement", "dra_support"), ("result", "dra_support"),
                     ("requirement", "gpu_sharing"), ("failed", "gpu_sharing"), ("result", "gpu_sharing")]  # fmt: skip
    results = [e for e in seen if e.kind == "result"]
    assert results[1].detail == "1 pass, 1 error"
    assert set(t.collected["harness_results"]) == {"dra_support", "gpu_sharing"}
    assert "ignored" not in t.collected
    assert t.summary.failed_tasks == ["Probe: boom"]
    assert t.final_data is None and t.interrupted_requirement() == "gpu_sharing"  # no stats yet: stopped here


def test_a_role_that_finished_was_not_interrupted() -> None:
    """Stopped after the role's block ended (its record is final): no requirement was interrupted,
    whereas stopped after it emitted but before its block ended, it was (it might have gone on)."""
    t = runner._EventTracker(None, time.monotonic())
    t(ev("playbook_on_task_start", task="Verify | Locate the role of dra_support"))
    t(stats_ok({"harness_results": {"dra_support": record("pass")}}))
    assert t.interrupted_requirement() == "dra_support"
    t(ev("playbook_on_task_start", task="Verify | Check the cluster still answers after dra_support"))
    assert t.interrupted_requirement() == ""
    t(ev("playbook_on_task_start", task="Verify | Stop the run, the cluster stopped answering during dra_support"))
    assert t.interrupted_requirement() == ""
    t(ev("playbook_on_task_start", task="Verify | Locate the role of gpu_sharing"))
    assert t.interrupted_requirement() == "gpu_sharing"
    t(ev("playbook_on_stats", artifact_data={}))
    assert t.interrupted_requirement() == ""  # the play ended normally


def test_final_stats_win() -> None:
    t = runner._EventTracker(None, time.monotonic())
    t(stats_ok({"harness_results": {"a": record("pass")}}))
    t(ev("playbook_on_stats", artifact_data={"harness_results": {"b": record("fail")}}))
    assert t.final_data == {"harness_results": {"b": record("fail")}}


def test_a_broken_display_does_not_break_the_run() -> None:
    def boom(_: ProgressEvent) -> None:
        raise RuntimeError("display bug")

    t = runner._EventTracker(boom, time.monotonic())
    assert t(ev("playbook_on_play_start", play="p")) is True
    assert t(ev("playbook_on_task_start", task="x")) is True


def test_merge_is_recursive_and_replaces_lists() -> None:
    a = {"harness_results": {"x": {"checks": [1], "notes": "a"}}}
    b = {"harness_results": {"x": {"checks": [2]}, "y": {}}}
    assert runner.merge(a, b) == {"harness_results": {"x": {"checks": [2], "notes": "a"}, "y": {}}}
    assert a == {"harness_results": {"x": {"checks": [1], "notes": "a"}}}  # inputs untouched


def test_run_id_shape() -> None:
    rid = runner.new_run_id()
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", rid)
    assert len(rid) <= 63  # usable as a Kubernetes label value
    assert rid != runner.new_run_id()


def test_requirement_without_role_is_announced() -> None:
    seen: list[ProgressEvent] = []
    t = runner._EventTracker(seen.append, time.monotonic())
    t(ev("playbook_on_task_start", task="Verify | Locate the role of pod_autoscaling"))
    t(ev("runner_on_ok", task="Verify | Note that no role exists yet for pod_autoscaling", res={}))
    assert [(e.kind, e.requirement, e.detail) for e in seen if e.kind == "result"] == [
        ("result", "pod_autoscaling", "no role yet")
    ]


def test_tracker_patterns_match_the_playbook() -> None:
    """The tracker recognises requirements by task names of playbooks/tasks/verify-requirement.yml."""
    import yaml

    tasks = yaml.safe_load((runner.PROJECT_ROOT / "playbooks/tasks/verify-requirement.yml").read_text())
    names = [t["name"].replace("{{ harness_requirement }}", "gpu_sharing") for t in tasks]
    assert any(runner._LOCATE_TASK.match(n) for n in names)
    assert any(n.startswith(runner._NO_ROLE_TASK) for n in names)
    assert any(n.startswith(runner._AFTER_ROLE_TASK) for n in names)
