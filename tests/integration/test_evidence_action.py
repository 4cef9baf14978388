"""harness.conformance.evidence in a real playbook: on the local connection its action plugin writes
on the controller, and what it writes is byte for byte what the module writes when it is shipped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.runner import PROJECT_ROOT, make_run_dir, run_playbook

pytestmark = pytest.mark.integration

COLLECTIONS = PROJECT_ROOT / "collections"
MODULE = COLLECTIONS / "ansible_collections/harness/conformance/plugins/modules/evidence.py"

#: the same calls, as playbook tasks and as module arguments
CALLS: list[dict[str, object]] = [
    {"file": "nodes.yaml", "data": "{{ nodes }}"},
    {"title": "Nodes are {{ 'ready' }}", "command": "kubectl get nodes", "output": "{{ nodes }}",
     "checks": [{"name": "Two nodes", "status": "pass", "expected": 2, "observed": "{{ nodes | length }}"}]},
    {"file": "log.txt", "data": "Authorization: Bearer abcdefgh12345678"},
]  # fmt: skip
NODES = [{"name": "gpu-0", "gpus": 8, "labels": {"nvidia.com/gpu.present": "true"}}, {"name": "gpu-1", "gpus": 8}]


def playbook(evidence_dir: Path) -> str:
    tasks = [{"name": f"Evidence | call {i}", "harness.conformance.evidence":
              {"evidence_dir": str(evidence_dir), "requirement": "dra_support", **call}} for i, call in enumerate(CALLS)]  # fmt: skip
    tasks.append({"name": "Evidence | in check mode", "check_mode": True, "register": "dry",
                  "harness.conformance.evidence": {"evidence_dir": str(evidence_dir), "requirement": "dra_support",
                                                   "file": "never.yaml", "data": "{{ nodes }}"}})  # fmt: skip
    tasks.append({"name": "Evidence | the path is returned", "ansible.builtin.assert": {
        "that": ["dry.path == 'evidence/dra_support/never.yaml'", "dry is changed"]}})  # fmt: skip
    play = {"name": "Evidence", "hosts": "localhost", "connection": "local", "gather_facts": False,
            "vars": {"nodes": NODES}, "tasks": tasks}  # fmt: skip
    return json.dumps([play])


def run_module(evidence_dir: Path, call: dict[str, object]) -> None:
    # the values the playbook's templates give
    text = json.dumps(call).replace('"{{ nodes }}"', json.dumps(NODES))
    args = json.loads(text.replace("{{ 'ready' }}", "ready").replace("{{ nodes | length }}", "2"))
    evidence_dir.parent.mkdir(parents=True, exist_ok=True)
    argfile = evidence_dir.parent / "args.json"
    argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"evidence_dir": str(evidence_dir), "requirement": "dra_support", **args}}))
    done = subprocess.run([sys.executable, str(MODULE), str(argfile)], capture_output=True, text=True,
                          env={"PYTHONPATH": str(COLLECTIONS)}, check=False)  # fmt: skip
    assert json.loads(done.stdout).get("changed") is True, done.stdout + done.stderr


def test_action_writes_what_the_module_writes(tmp_path: Path) -> None:
    pb = tmp_path / "evidence.yml"
    by_action = tmp_path / "action" / "evidence"
    pb.write_text(playbook(by_action))
    outcome = run_playbook(pb, None, make_run_dir(tmp_path / "runs", "run-ev"), {}, ident="ev", timeout=120)
    assert outcome.ok, outcome.log.read_text()

    by_module = tmp_path / "module" / "evidence"
    for call in CALLS:
        run_module(by_module, call)

    written = sorted(p.relative_to(by_action).as_posix() for p in by_action.rglob("*") if p.is_file())
    assert written == ["dra_support/log.txt", "dra_support/nodes.yaml", "dra_support/output.md"]  # not never.yaml
    for rel in written:
        assert (by_action / rel).read_bytes() == (by_module / rel).read_bytes(), rel
    assert "abcdefgh12345678" not in (by_action / "dra_support/log.txt").read_text()
    assert "observed 2" in (by_action / "dra_support/output.md").read_text()
