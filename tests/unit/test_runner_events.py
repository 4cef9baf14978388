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


def start(host: str, task: str) -> dict[str, Any]:
    return ev("runner_on_start", host=host, task=task)


def started(host: str, task: str) -> list[dict[str, Any]]:
    """A task that started and ended ok on ``host``."""
    return [start(host, task), ev("runner_on_ok", host=host, task=task, res={})]


def feed(t: runner._EventTracker, *events: dict[str, Any] | list[dict[str, Any]]) -> None:
    for e in events:
        for one in e if isinstance(e, list) else [e]:
            t(one)


def test_tracker_follows_plays_requirements_and_results() -> None:
    seen: list[ProgressEvent] = []
    t = runner._EventTracker(seen.append, time.monotonic())
    t(ev("playbook_on_play_start", play="Verify | Run"))
    feed(t, started("dra_support", "Verify | Start the role"),
         started("gpu_sharing", "Verify | Start the role"))  # both run at once
    t(stats_ok({"harness_results": {"dra_support": record("pass", "pass")}}))
    t(ev("runner_on_failed", task="Probe", host="gpu_sharing", res={"msg": "boom"}))
    t(stats_ok({"harness_results": {"gpu_sharing": record("pass", "error")}}))
    t(stats_ok({"ignored": 1}, per_host=True))
    kinds = [(e.kind, e.requirement) for e in seen if e.kind not in ("task", "done")]
    assert kinds == [("play", ""), ("requirement", "dra_support"), ("requirement", "gpu_sharing"),
                     ("result", "dra_support"), ("failed", "gpu_sharing"), ("result", "gpu_sharing")]  # fmt: skip
    tasks = [(e.task, e.requirement) for e in seen if e.kind == "task"]
    assert tasks == [("Verify | Start the role", "dra_support"), ("Verify | Start the role", "gpu_sharing")]
    results = [e for e in seen if e.kind == "result"]
    assert results[1].detail == "1 pass, 1 error"
    assert set(t.collected["harness_results"]) == {"dra_support", "gpu_sharing"}
    assert "ignored" not in t.collected
    assert t.summary.failed_tasks == ["Probe: boom"]
    # no stats yet: both roles were running when the stream ended
    assert t.final_data is None and t.interrupted_requirements() == ["dra_support", "gpu_sharing"]


def test_a_role_that_finished_was_not_interrupted() -> None:
    """A role runs from its Start task until the cluster check after it (its record is final then):
    stopped after that, it was not interrupted; stopped after it emitted but before, it was (it might
    have gone on). Each host is followed on its own."""
    t = runner._EventTracker(None, time.monotonic())
    t(start("dra_support", "Verify | Wait until the role may run beside the others"))
    assert t.interrupted_requirements() == []  # waiting at the gate is not running
    feed(t, started("dra_support", "Verify | Start the role"),
         started("gang_scheduling", "Verify | Start the role"))
    t(stats_ok({"harness_results": {"dra_support": record("pass")}}))
    assert t.interrupted_requirements() == ["dra_support", "gang_scheduling"]
    t(start("dra_support", "Verify | Check the cluster still answers after the role"))
    assert t.interrupted_requirements() == ["gang_scheduling"]
    t(start("dra_support", "Verify | Stop the run, the cluster stopped answering"))
    assert t.interrupted_requirements() == ["gang_scheduling"]
    t(start("gang_scheduling", "Verify | Check the cluster still answers after the role"))
    t(ev("playbook_on_stats", artifact_data={}))
    assert t.interrupted_requirements() == []  # the play ended normally


def test_a_play_ended_for_every_host_leaves_the_running_roles_interrupted() -> None:
    """The cluster stopped answering after one role (end_play): the roles running beside it were cut
    short even though the playbook ended with its stats."""
    t = runner._EventTracker(None, time.monotonic())
    feed(t, started("dra_support", "Verify | Start the role"),
         started("ai_inference", "Verify | Start the role"))
    # a host the closing gate turned away skips its Start task: it never ran
    feed(t, start("gpu_sharing", "Verify | Start the role"),
         ev("runner_on_skipped", host="gpu_sharing", task="Verify | Start the role"))
    t(start("dra_support", "Verify | Check the cluster still answers after the role"))
    t(ev("playbook_on_stats", artifact_data={"harness_lab_lost": {"requirement": "dra_support"}}))
    assert t.interrupted_requirements() == ["ai_inference"]


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
    t(ev("runner_on_ok", task="Verify | Note that the requirement has no role yet", host="pod_autoscaling", res={}))
    assert [(e.kind, e.requirement, e.detail) for e in seen if e.kind == "result"] == [
        ("result", "pod_autoscaling", "no role yet")
    ]


def test_tracker_patterns_match_the_playbook() -> None:
    """The tracker recognises requirements by task names of playbooks/tasks/verify-requirement.yml."""
    import yaml

    def task_names(tasks: list[dict[str, Any]]) -> list[str]:
        found = []
        for t in tasks:
            found.append(t["name"])
            for part in ("block", "rescue", "always"):
                found += task_names(t.get(part) or [])
        return found

    names = task_names(yaml.safe_load((runner.PROJECT_ROOT / "playbooks/tasks/verify-requirement.yml").read_text()))
    assert {runner._START_TASK, runner._NO_ROLE_TASK, runner._AFTER_ROLE_TASK} <= set(names)
