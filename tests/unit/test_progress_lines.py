"""Piped `up`/`down` print one line per finished task; a piped `verify` keeps one line per requirement."""

from __future__ import annotations

import io
import time
from typing import Any

from harness import runner
from harness.progress import Progress


def ev(name: str, **data: Any) -> dict[str, Any]:
    return {"event": name, "event_data": data}


UP_EVENTS = [
    ev("playbook_on_play_start", play="Lab up | simulated lab"),
    ev("playbook_on_task_start", task="Sim etcd | Start etcd"),
    ev("runner_on_ok", task="Sim etcd | Start etcd", host="sim-lab", duration=2.04, res={"changed": True}),
    ev("playbook_on_task_start", task="Sim etcd | Wait for health"),
    ev("runner_on_ok", task="Sim etcd | Wait for health", host="localhost", duration=0.3, res={"changed": False}),
    ev("playbook_on_task_start", task="Sim build | Build kwok"),
    ev("runner_on_skipped", task="Sim build | Build kwok", host="localhost", duration=0.0),
    ev("playbook_on_task_start", task="Sim dra | Probe"),
    ev("runner_on_failed", task="Sim dra | Probe", host="localhost", ignore_errors=True, res={"msg": "no"}),
    ev("playbook_on_task_start", task="Sim dra | Start driver"),
    ev("runner_on_failed", task="Sim dra | Start driver", host="localhost", res={"msg": "port in use"}),
]


def feed(progress: Progress, events: list[dict[str, Any]]) -> None:
    tracker = runner._EventTracker(progress, time.monotonic())
    for e in events:
        tracker(e)


def test_tracker_reports_each_finished_task_with_status_and_duration() -> None:
    seen: list[runner.ProgressEvent] = []
    feed(seen.append, UP_EVENTS)  # type: ignore[arg-type]
    done = [(e.task, e.status, e.host, e.duration_s) for e in seen if e.kind == "done"]
    assert done == [
        ("Sim etcd | Start etcd", "changed", "sim-lab", 2.0),
        ("Sim etcd | Wait for health", "ok", "localhost", 0.3),
        ("Sim build | Build kwok", "skipped", "localhost", 0.0),
        ("Sim dra | Probe", "ignored", "localhost", None),
        ("Sim dra | Start driver", "failed", "localhost", None),
    ]


def test_piped_up_prints_a_line_per_finished_task() -> None:
    out = io.StringIO()  # not a terminal, as in CI or `| tee`
    with Progress("live", title="harness up: local-sim", stream=out, task_lines=True) as progress:
        feed(progress, UP_EVENTS)
    lines = out.getvalue().splitlines()
    assert lines[0] == "harness up: local-sim"
    assert "play: Lab up | simulated lab" in lines[1]
    body = lines[2:]
    assert len(body) == 5, body  # 3 finished tasks + 2 failure lines (with their message)
    assert "changed " in body[0] and body[0].endswith("Sim etcd | Start etcd [sim-lab] (2.0s)")
    assert "ok " in body[1] and body[1].endswith("Sim etcd | Wait for health (0.3s)")  # localhost not named
    assert "skipped" in body[2] and "Sim build | Build kwok" in body[2]
    assert body[3].strip() == "task failed (ignored) Sim dra | Probe: no"
    assert body[4].strip() == "task failed Sim dra | Start driver: port in use"


def test_a_long_task_name_is_not_wrapped() -> None:
    out = io.StringIO()
    name = "Sim gateway | " + "x" * 150
    with Progress("live", stream=out, task_lines=True) as progress:
        feed(progress, [ev("runner_on_ok", task=name, host="localhost", duration=1.0, res={})])
    assert len(out.getvalue().splitlines()) == 1 and name in out.getvalue()


def test_piped_verify_keeps_one_line_per_requirement() -> None:
    out = io.StringIO()
    events = [
        *UP_EVENTS[:5],
        ev("runner_on_ok", task="Emit | Publish", host="localhost", duration=0.1,
           res={"ansible_stats": {"data": {"harness_results": {"dra_support": {"checks": [{"status": "pass"}]}}},
                                  "per_host": False}}),
    ]  # fmt: skip
    with Progress("live", total=1, stream=out) as progress:  # verify: no task_lines
        feed(progress, events)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "dra_support" in lines[0] and "1 pass" in lines[0]


def test_quiet_prints_no_task_lines() -> None:
    out = io.StringIO()
    with Progress("quiet", stream=out, task_lines=True) as progress:
        feed(progress, UP_EVENTS)
    assert out.getvalue() == ""


def test_live_view_lists_the_requirements_running_at_once() -> None:
    """A parallel verify: the live view counts the reported ones and names those still running."""
    progress = Progress("live", total=3, stream=io.StringIO())
    feed(progress, [
        ev("runner_on_start", host="gang_scheduling", task="Verify | Start the role"),
        ev("runner_on_ok", host="gang_scheduling", task="Verify | Start the role", res={}),
        ev("runner_on_start", host="ai_inference", task="Verify | Start the role"),
        ev("runner_on_ok", host="ai_inference", task="Verify | Start the role", res={}),
        ev("runner_on_ok", host="gang_scheduling", task="Emit | Publish the record through set_stats",
           res={"ansible_stats": {"data": {"harness_results": {"gang_scheduling": {"checks": []}}}, "per_host": False}}),
    ])  # fmt: skip
    assert progress.running == ["ai_inference"]
    assert "1/3 reported; running: ai_inference" in progress._render().plain
