"""Parallel verify with a real ansible-runner and fake roles (no lab): roles that share nothing run at
the same time, what competes waits at the gate in plan order, and --serial gives the same results.

Each fake role sleeps, then emits one passing check; its meta/verify.yml says what it holds. The gate's
log (<run>/ansible/gate/gate.json) says when each one entered and left."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fake_inventory import write_inventory
from harness.gate_log import spans
from harness.lab import load_inventory
from harness.verify import verify

pytestmark = pytest.mark.integration

# requirement -> what it holds
USES: dict[str, dict[str, Any]] = {
    "ai_inference": {},
    "gang_scheduling": {"accelerators": 1},
    "pod_autoscaling": {"accelerators": 1},
    "gpu_sharing": {"accelerators": "exclusive"},
}
SLEEP_S = 4


@pytest.fixture
def roles(tmp_path: Path) -> Path:
    root = tmp_path / "roles"
    for rid, uses in USES.items():
        role = root / f"verify_{rid}"
        (role / "tasks").mkdir(parents=True)
        (role / "meta").mkdir()
        (role / "meta" / "verify.yml").write_text(json.dumps({"verify_uses": uses}))
        (role / "tasks" / "main.yml").write_text(
            f"- name: Fake {rid} | Work\n  ansible.builtin.command: sleep {SLEEP_S}\n  changed_when: false\n"
            f"- name: Fake {rid} | Emit\n  ansible.builtin.include_role:\n    name: harness.conformance.emit\n"
            f"  vars:\n    emit_requirement: {rid}\n"
            f"    emit_checks: [{{name: worked, status: pass, expected: done, observed: done}}]\n"
        )
    return root


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    return write_inventory(tmp_path, "/nonexistent/kubeconfig")


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_parallel_runs_what_shares_nothing_together_and_matches_serial(
    inventory: Path, roles: Path, tmp_path: Path
) -> None:
    lab = load_inventory(inventory)
    selected = list(USES)
    runs = {}
    for parallel in (True, False):
        result = verify(lab, ["v1.35"], selected, runs_dir=tmp_path / f"runs-{parallel}", roles_path=[roles],
                        project_roles=False, write_reports=False, parallel=parallel)  # fmt: skip
        assert result.outcome.ok, result.outcome.events.failed_tasks
        runs[parallel] = result
    par, ser = spans(runs[True].run_dir), spans(runs[False].run_dir)
    assert set(par) == set(ser) == set(USES)
    # gpu_sharing holds accelerators exclusively and others share them: it goes last, alone among them
    assert par["gpu_sharing"][0] >= max(par["gang_scheduling"][1], par["pod_autoscaling"][1])
    # the two that share accelerators within the (unknown, so unlimited) capacity run together,
    # and ai_inference, which holds nothing, runs beside whatever runs
    assert overlap(par["gang_scheduling"], par["pod_autoscaling"])
    assert overlap(par["ai_inference"], par["gang_scheduling"])
    # serial: one after another, in report order
    order = sorted(ser, key=lambda r: ser[r][0])
    assert order == [r for r in runs[False].run.requirements if r in USES]
    assert all(ser[a][1] <= ser[b][0] for a, b in zip(order, order[1:]))
    # the same results either way, and the parallel run took clearly less
    def statuses(res: Any) -> dict[str, tuple[str, str, list[str]]]:
        return {k: (str(v.status), str(v.outcome), [c.status.value for c in v.checks])
                for k, v in res.run.requirements.items()}  # fmt: skip
    assert statuses(runs[True]) == statuses(runs[False])
    assert all(v[1] == "passed" for v in statuses(runs[True]).values())
    assert runs[True].run.duration_s < runs[False].run.duration_s - SLEEP_S


def test_too_few_forks_run_one_at_a_time_rather_than_hang(inventory: Path, roles: Path, tmp_path: Path) -> None:
    """Hosts that wait at the gate hold forks: with fewer forks than requirements (an AWX template left
    at Ansible's default of 5, say) the play would hang; it runs them one at a time and says why."""
    from harness.runner import make_run_dir, run_playbook

    run_dir = make_run_dir(tmp_path / "runs", "forks").resolve()
    outcome = run_playbook(
        "verify.yml", inventory, run_dir,
        {"harness_requirements": list(USES), "harness_run_id": "forks", "harness_run_dir": str(run_dir),
         "harness_evidence_dir": str(run_dir / "evidence"), "harness_roles_dirs": [str(roles)]},
        forks=2, timeout=300,
    )  # fmt: skip
    assert outcome.ok, (outcome.status, outcome.events.failed_tasks)
    assert set(outcome.artifact_data["harness_results"]) == set(USES)
    s = spans(run_dir)
    order = sorted(s, key=lambda r: s[r][0])
    assert order == list(USES) and all(s[a][1] <= s[b][0] for a, b in zip(order, order[1:]))
    assert "need 5 forks to run in parallel, this run has 2" in outcome.log.read_text()


def test_a_cluster_lost_beside_running_roles_stops_the_run(dead_cluster_inventory: Path, tmp_path: Path) -> None:
    """ai_inference fails a check and the cluster then gives no answer: the gate closes, the run ends
    partial; gang_scheduling, running beside it, is an error (cut short), never its own pass; gpu_sharing,
    which waits to run alone, never starts."""
    from harness.results import Outcome

    roles = tmp_path / "roles"
    fake = {
        "ai_inference": ({}, "- name: Fake | Fail a check\n  ansible.builtin.include_role:\n    name: harness.conformance.emit\n"
                             "  vars:\n    emit_requirement: ai_inference\n"
                             "    emit_checks: [{name: routed, status: fail, expected: yes, observed: no}]\n"),
        "gang_scheduling": ({}, "- name: Fake | Work long\n  ansible.builtin.command: sleep 12\n  changed_when: false\n"
                                "- name: Fake | Pass\n  ansible.builtin.include_role:\n    name: harness.conformance.emit\n"
                                "  vars:\n    emit_requirement: gang_scheduling\n"
                                "    emit_checks: [{name: admitted, status: pass, expected: yes, observed: yes}]\n"),
        "gpu_sharing": ({"*": "exclusive"}, "- name: Fake | Never\n  ansible.builtin.fail:\n    msg: must not run\n"),
    }
    for rid, (uses, tasks) in fake.items():
        (roles / f"verify_{rid}" / "tasks").mkdir(parents=True)
        (roles / f"verify_{rid}" / "meta").mkdir()
        (roles / f"verify_{rid}" / "meta" / "verify.yml").write_text(json.dumps({"verify_uses": uses}))
        (roles / f"verify_{rid}" / "tasks" / "main.yml").write_text(tasks)
    result = verify(load_inventory(dead_cluster_inventory), ["v1.35"], list(fake), runs_dir=tmp_path / "runs", roles_path=[roles],
                    project_roles=False, write_reports=False, cluster_wait=4)  # fmt: skip
    run = result.run
    assert run.state == "partial" and run.interruption is not None
    assert "during ai_inference" in run.interruption["message"]
    ai, gang, sharing = (run.requirements[r] for r in fake)
    assert ai.outcome is Outcome.ERROR and ai.checks[-1].name == "The cluster answered while verify_ai_inference ran"
    assert gang.outcome is Outcome.ERROR, [(c.name, str(c.status)) for c in gang.checks]
    assert gang.checks[-1].observed == "the run stopped while the role was running"
    assert sharing.outcome is Outcome.MISSING
    state = json.loads((result.run_dir / "ansible" / "gate" / "gate.json").read_text())
    assert state["closed"] and "gpu_sharing" not in state["running"] and "gpu_sharing" not in state["done"]
