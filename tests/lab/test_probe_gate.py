"""Lab: harness.conformance.probe with probe_gate_uses holds the verify gate only while its pods exist.

A real probe pod on the lab's real node, run by the role as `harness verify` runs it (a gate directory,
the requirement's id): the role waits while another requirement holds accelerator_probes, creates its
pod once that one lets go, and deletes the pod before it gives the resource back.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from harness.runner import PROJECT_ROOT, build_envvars
from lab_fixtures import SimLab
from tests.unit.unit_fixtures import load_plugin

pytestmark = pytest.mark.lab

sched = load_plugin("module_utils", "verify_schedule")
HOLD = {"accelerator_probes": "exclusive"}


def test_probe_pods_exist_only_while_the_role_holds_the_gate(lab: SimLab, k8s: client.ApiClient, tmp_path: Path) -> None:
    core = client.CoreV1Api(k8s)
    node = core.list_node(label_selector="harness.dev/real-node=true").items[0].metadata.name
    gate_dir, ns = tmp_path / "gate", f"harness-test-probe-gate-{uuid.uuid4().hex[:6]}"
    gate = sched.Gate(str(gate_dir))
    plan = [{"id": "other", "uses": {}}, {"id": "me", "uses": {}}]
    assert gate.try_enter("other", plan, {}) == "" and gate.try_enter("me", plan, {}) == ""
    assert gate.try_hold("other", HOLD, {}) == ""
    released: list[float] = []

    def let_go() -> None:
        time.sleep(4)
        released.append(time.time())
        gate.release("other")

    out = tmp_path / "results.json"
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}", "harness_kubeconfig": str(lab.kubeconfig),
                      "harness_requirement": "me", "harness_verify_gate_dir": str(gate_dir)},
             "tasks": [{"name": "Probe", "ansible.builtin.include_role": {"name": "harness.conformance.probe"},
                        "vars": {"probe_namespace": ns, "probe_requirement": "workload_sandboxing", "probe_gate_uses": HOLD,
                                 "probe_pods": [{"name": "gated", "node": node}], "probe_timeout": 120}},
                       {"name": "Dump", "ansible.builtin.copy": {"dest": str(out), "content": "{{ probe_results | to_json }}"}}]}]  # fmt: skip
    pb = tmp_path / "probe-gate.yml"
    pb.write_text(json.dumps(play))
    threading.Thread(target=let_go, daemon=True).start()
    try:
        done = subprocess.run(["ansible-playbook", "-i", "localhost,", str(pb)], cwd=PROJECT_ROOT, env={**build_envvars()},
                              capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        results: dict[str, Any] = json.loads(out.read_text())
        assert results["gated"]["ready"] is True, results
        assert core.list_namespaced_pod(ns).items == [], "the pods are deleted before the gate is let go"
        state = json.loads((gate_dir / "gate.json").read_text())
        log = [(e["requirement"], e["event"], e["t"]) for e in state["log"]]
        held = next(t for r, e, t in log if (r, e) == ("me", "hold"))
        assert held >= released[0] - 0.01, "the role waited for the other requirement's probes"
        assert ("me", "release") in [(r, e) for r, e, _ in log]
        assert state["running"]["me"] == {} and "me" not in state.get("phases", {})
    finally:
        if core.list_namespace(field_selector=f"metadata.name={ns}").items:
            core.delete_namespace(ns)
