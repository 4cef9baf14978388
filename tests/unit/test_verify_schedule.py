"""The parallel verify's plan and gate: who may start beside whom, in what order, and the gate's file."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from tests.unit.unit_fixtures import load_plugin

sched = load_plugin("module_utils", "verify_schedule")
plan_filter = load_plugin("filter", "verify_plan")
ROLES = Path(__file__).resolve().parents[2] / "roles"


def plan(*entries: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": i, "uses": u} for i, u in entries]


P = plan(
    ("sharing", {"accelerators": "exclusive", "probes": "exclusive"}),
    ("dra", {"accelerators": 1, "probes": "exclusive"}),
    ("gang", {"accelerators": 2}),
    ("hpa", {"accelerators": 3}),
    ("gateway", {}),
)


def test_what_shares_nothing_starts_at_once() -> None:
    assert sched.blocked_by("gateway", P, {}, set(), {}) == ""
    assert sched.blocked_by("gateway", P, {"sharing": P[0]["uses"]}, set(), {}) == ""


def test_competitors_start_in_plan_order() -> None:
    assert sched.blocked_by("gang", P, {}, set(), {}) == "sharing comes first"
    assert sched.blocked_by("dra", P, {}, set(), {}) == "sharing comes first"
    # sharing runs: it holds accelerators exclusively
    running = {"sharing": P[0]["uses"]}
    assert sched.blocked_by("dra", P, running, set(), {}) == "sharing holds accelerators exclusively"
    assert sched.blocked_by("gang", P, running, set(), {}) == "sharing holds accelerators exclusively"
    # sharing done: gang may pass dra, which waits for nothing gang holds exclusively...
    assert sched.blocked_by("gang", P, {}, {"sharing"}, {}) == ""
    # ...unless both would not fit the capacity beside what is held: then dra comes first
    assert sched.blocked_by("gang", P, {"hpa": P[3]["uses"]}, {"sharing"}, {"accelerators": 5}) == "dra comes first"
    assert sched.blocked_by("gang", P, {"dra": P[1]["uses"]}, {"sharing"}, {"accelerators": 5}) == ""


def test_one_waiting_for_something_else_does_not_hold_back_the_rest() -> None:
    """virtualized waits for the probes driver holds; metrics shares only accelerators with it (units,
    room enough): metrics starts rather than queue behind virtualized."""
    p = plan(("driver", {"accelerators": 1, "probes": "exclusive"}),
             ("virtualized", {"accelerators": 1, "probes": "exclusive"}),
             ("metrics", {"accelerators": 1}))  # fmt: skip
    running = {"driver": p[0]["uses"]}
    assert sched.blocked_by("virtualized", p, running, set(), {"accelerators": 16}) == "driver holds probes"
    assert sched.blocked_by("metrics", p, running, set(), {"accelerators": 16}) == ""
    assert sched.blocked_by("metrics", p, running, set(), {"accelerators": 2}) == "virtualized comes first"


def test_exclusive_waits_for_every_holder() -> None:
    p = plan(("gang", {"accelerators": 2}), ("sharing", {"accelerators": "exclusive"}))
    assert sched.blocked_by("sharing", p, {"gang": p[0]["uses"]}, set(), {}) == "gang holds accelerators"
    assert sched.blocked_by("sharing", p, {}, {"gang"}, {}) == ""


def test_capacity_limits_units_held_at_once() -> None:
    p = plan(("gang", {"accelerators": 2}), ("hpa", {"accelerators": 3}), ("metrics", {"accelerators": 1}))
    running = {"gang": p[0]["uses"]}
    assert sched.blocked_by("hpa", p, running, set(), {"accelerators": 4}) == "accelerators: 2 of 4 held, 3 more wanted"
    assert sched.blocked_by("hpa", p, running, set(), {"accelerators": 5}) == ""
    # no capacity known: units do not limit
    assert sched.blocked_by("hpa", p, running, set(), {}) == ""
    # more than the lab has: it runs when nobody else holds the resource
    assert sched.blocked_by("hpa", p, {}, {"gang"}, {"accelerators": 1}) == ""
    # a later, smaller one does not overtake the one that waits for capacity (no starvation)
    assert sched.blocked_by("metrics", p, running, set(), {"accelerators": 4}) == "hpa comes first"


def test_alone_means_alone() -> None:
    p = plan(("a", {}), ("b", dict(sched.ALONE)), ("c", {}))
    assert sched.blocked_by("b", p, {"a": {}}, set(), {}) == "a is running"
    assert sched.blocked_by("c", p, {}, {"a"}, {}) == "b comes first"
    assert sched.blocked_by("c", p, {"b": sched.ALONE}, {"a"}, {}) == "b runs alone"
    assert sched.blocked_by("c", p, {}, {"a", "b"}, {}) == ""


def test_unknown_requirement_is_an_error() -> None:
    with pytest.raises(sched.ScheduleError, match="not in the plan"):
        sched.blocked_by("nope", P, {}, set(), {})


@pytest.mark.parametrize(
    ("uses", "message"),
    [
        ([1], "must be a mapping"),
        ({"accelerators": -1}, "count of units"),
        ({"accelerators": "lots"}, "count of units"),
        ({"accelerators": True}, "count of units"),
        ({"*": 1}, "only be held exclusively"),
        ({"": 1}, "non-empty strings"),
    ],
)
def test_bad_declarations_are_named(uses: Any, message: str) -> None:
    with pytest.raises(sched.ScheduleError, match=message):
        sched.normalise_uses(uses)


def test_gate_file_records_entries_and_leaves(tmp_path: Path) -> None:
    gate = sched.Gate(str(tmp_path / "gate"))
    p = plan(("a", {"x": "exclusive"}), ("b", {"x": 1}))
    assert gate.try_enter("b", p, {}) == "a comes first"
    assert gate.try_enter("a", p, {}) == ""
    assert gate.try_enter("a", p, {}) == ""  # twice: no-op
    assert gate.try_enter("b", p, {}) == "a holds x exclusively"
    assert gate.leave("a") is True
    assert gate.leave("a") is False
    waited, why = gate.enter("b", p, {}, timeout=5)
    assert why == "" and waited < 5
    state = json.loads((tmp_path / "gate" / "gate.json").read_text())
    assert state["running"] == {"b": {"x": 1}} and state["done"] == ["a"]
    assert [(e["requirement"], e["event"]) for e in state["log"]] == [("a", "enter"), ("a", "leave"), ("a", "leave"), ("b", "enter")]


def test_gate_times_out_saying_what_it_waits_for(tmp_path: Path) -> None:
    gate = sched.Gate(str(tmp_path))
    p = plan(("a", {"x": "exclusive"}), ("b", {"x": 1}))
    gate.try_enter("a", p, {})
    with pytest.raises(sched.ScheduleError, match=r"b could not start within 0 s: a holds x exclusively"):
        gate.enter("b", p, {}, timeout=0.3, sleep=0.05)


def test_gate_rejects_a_broken_state_file(tmp_path: Path) -> None:
    (tmp_path / "gate.json").write_text("{")
    with pytest.raises(sched.ScheduleError, match="not JSON"):
        sched.Gate(str(tmp_path)).try_enter("a", plan(("a", {})), {})


def _hold(directory: str, req: str, p: list[dict[str, Any]], out: Any) -> None:
    gate = sched.Gate(directory)
    gate.enter(req, p, {"accelerators": 2}, timeout=30, sleep=0.01, max_sleep=0.02)
    with open(Path(directory) / "gate.json") as f:
        out.put(len(json.load(f)["running"]))
    time.sleep(0.05)
    gate.leave(req)


def test_gate_holds_across_processes(tmp_path: Path) -> None:
    """Six workers (as the free strategy's forks would be) for two units: never more than two inside."""
    p = plan(*[(f"r{i}", {"accelerators": 1}) for i in range(6)])
    q: Any = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_hold, args=(str(tmp_path), f"r{i}", p, q)) for i in range(6)]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(60)
    seen = [q.get(timeout=5) for _ in procs]
    assert max(seen) <= 2 and all(pr.exitcode == 0 for pr in procs)
    state = json.loads((tmp_path / "gate.json").read_text())
    assert sorted(state["done"]) == [f"r{i}" for i in range(6)]
    # nobody starves: a later one passes an earlier one only while both fit, so r<i> enters among the
    # first i+2, whatever order the processes arrived in
    entered = [e["requirement"] for e in state["log"] if e["event"] == "enter"]
    assert all(entered.index(f"r{i}") <= i + 1 for i in range(6)), entered


def test_plan_reads_each_roles_declaration() -> None:
    ids = ["driver_runtime_management", "gpu_sharing", "ai_inference", "gang_scheduling", "pod_autoscaling", "nope"]
    got = plan_filter.verify_plan(ids, [str(ROLES)])
    # gpu_sharing holds exclusively what the others share: it goes last
    assert [p["id"] for p in got] == ["driver_runtime_management", "ai_inference", "gang_scheduling", "pod_autoscaling",
                                      "nope", "gpu_sharing"]  # fmt: skip
    by_id = {p["id"]: p for p in got}
    assert by_id["gang_scheduling"]["uses"] == {"accelerators": 2}
    assert by_id["gpu_sharing"]["uses"] == {"accelerators": "exclusive", "accelerator_probes": "exclusive"}
    assert by_id["ai_inference"]["uses"] == {}
    assert by_id["nope"] == {"id": "nope", "role": "", "uses": {}}
    assert by_id["ai_inference"]["role"] == str(ROLES / "verify_ai_inference")


def test_every_project_role_declares_what_it_holds() -> None:
    for role in sorted(ROLES.glob("verify_*")):
        got = plan_filter.verify_plan([role.name.removeprefix("verify_")], [str(ROLES)])
        assert "*" not in got[0]["uses"], f"{role.name} has no meta/verify.yml: it would run alone"


def test_plan_serial_and_undeclared_roles_run_alone(tmp_path: Path) -> None:
    (tmp_path / "verify_x").mkdir()
    got = plan_filter.verify_plan(["x", "ai_inference"], [str(tmp_path), str(ROLES)])
    assert got[0]["uses"] == {"*": "exclusive"} and got[1]["uses"] == {}
    serial = plan_filter.verify_plan(["ai_inference", "gang_scheduling"], [str(ROLES)], parallel=False)
    assert [(p["id"], p["uses"]) for p in serial] == [("ai_inference", {"*": "exclusive"}),
                                                      ("gang_scheduling", {"*": "exclusive"})]  # fmt: skip


def test_plan_names_a_broken_declaration(tmp_path: Path) -> None:
    (tmp_path / "verify_x" / "meta").mkdir(parents=True)
    (tmp_path / "verify_x" / "meta" / "verify.yml").write_text("verify_uses:\n  accelerators: many\n")
    with pytest.raises(AnsibleFilterError, match=r"verify_x/meta/verify.yml: verify_uses.accelerators must be"):
        plan_filter.verify_plan(["x"], [str(tmp_path)])
    (tmp_path / "verify_x" / "meta" / "verify.yml").write_text("uses: {}\n")
    with pytest.raises(AnsibleFilterError, match="expected a mapping with the key verify_uses"):
        plan_filter.verify_plan(["x"], [str(tmp_path)])


def test_accelerator_capacity_counts_a_gpu_once() -> None:
    data = Path(__file__).parent / "data" / "probes"
    nodes = json.loads((data / "lab-nodes.json").read_text())
    slices = json.loads((data / "lab-resourceslices.json").read_text())
    plugin_units = sum(int(n["status"]["allocatable"].get("nvidia.com/gpu", 0)) for n in nodes)
    devices = sum(len(s["spec"]["devices"]) for s in slices if s["spec"]["driver"] == "gpu.nvidia.com")
    assert plugin_units > 0 and devices > 0
    assert plan_filter.accelerator_capacity(nodes, slices) == max(plugin_units, devices)
    assert plan_filter.accelerator_capacity(nodes, []) == plugin_units
    assert plan_filter.accelerator_capacity([], slices) == devices
    assert plan_filter.accelerator_capacity(None) == 0


def test_a_phase_holds_beside_the_role_and_lets_go(tmp_path: Path) -> None:
    gate = sched.Gate(str(tmp_path))
    p = plan(("sharing", {"accelerators": "exclusive", "probes": "exclusive"}), ("dra", {"accelerators": 1}),
             ("secure", {"accelerators": 2}), ("gateway", {}))  # fmt: skip
    for req in ("dra", "secure", "gateway"):
        assert gate.try_enter(req, p[1:], {}) == ""  # sharing is not in this plan: they start together
    assert gate.try_hold("dra", {"probes": "exclusive"}, {}) == ""
    assert gate.try_hold("secure", {"probes": "exclusive"}, {}) == "dra holds probes"
    assert gate.try_hold("gateway", {"other": 1}, {}) == ""  # another resource: no conflict
    with pytest.raises(sched.ScheduleError, match="dra already holds probes"):
        gate.try_hold("dra", {"probes": "exclusive"}, {})
    with pytest.raises(sched.ScheduleError, match="sharing is not running"):
        gate.try_hold("sharing", {"probes": "exclusive"}, {})
    # who wants the resource for the whole role waits for the phase as for a role
    assert sched.blocked_by("sharing", p, json.loads((tmp_path / "gate.json").read_text())["running"], set(), {})
    assert gate.release("dra") is True and gate.release("dra") is False
    state = json.loads((tmp_path / "gate.json").read_text())
    assert state["running"]["dra"] == {"accelerators": 1}  # what the role holds stays held
    waited, why = gate.hold("secure", {"probes": "exclusive"}, {}, timeout=5)
    assert why == "" and waited < 5
    assert gate.leave("secure") is True  # leaving mid-phase lets the phase go too
    assert gate.try_hold("dra", {"probes": "exclusive"}, {}) == ""
    events = [(e["requirement"], e["event"]) for e in json.loads((tmp_path / "gate.json").read_text())["log"]]
    assert ("dra", "hold") in events and ("dra", "release") in events and ("secure", "hold") in events


def test_a_phase_that_cannot_hold_in_time_says_who_holds_it(tmp_path: Path) -> None:
    gate = sched.Gate(str(tmp_path))
    p = plan(("a", {}), ("b", {}))
    gate.try_enter("a", p, {})
    gate.try_enter("b", p, {})
    gate.hold("a", {"probes": "exclusive"}, {}, timeout=1)
    with pytest.raises(sched.ScheduleError, match=r"b could not hold probes within 0 s: a holds probes"):
        gate.hold("b", {"probes": "exclusive"}, {}, timeout=0.3, sleep=0.05)
