"""harness.conformance.k8s* in a real playbook: on a local connection they run kubernetes.core's module
code inside the Ansible worker (no AnsiballZ is shipped) and fail exactly as the shipped module does;
where the worker cannot stand in (a task environment) the module is shipped as usual."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.runner import PROJECT_ROOT, build_envvars

pytestmark = pytest.mark.integration


def _play(tasks: list[dict[str, Any]], out: Path) -> str:
    tasks = [*tasks, {"name": "Dump the results", "ansible.builtin.copy": {
        "dest": str(out), "content": "{{ results | to_json }}"}, "vars": {
        "results": {t["register"]: f"{{{{ {t['register']} }}}}" for t in tasks}}}]  # fmt: skip
    return json.dumps([{"name": "Twins", "hosts": "localhost", "connection": "local", "gather_facts": False,
                        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, "tasks": tasks}])  # fmt: skip


def _run(tmp_path: Path, tasks: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    pb, out = tmp_path / "twins.yml", tmp_path / "results.json"
    pb.write_text(_play(tasks, out))
    env = {**os.environ, **build_envvars(), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")}
    done = subprocess.run(["ansible-playbook", "-i", "localhost,", "-vvv", str(pb)], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert out.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


def _shipped(log: str, module: str) -> int:
    """How many times ansible-playbook -vvv says it packed kubernetes.core's module to run it."""
    return sum(1 for line in log.splitlines()
               if line.startswith("Using module file") and line.endswith(f"/kubernetes/core/plugins/modules/{module}.py"))  # fmt: skip


def _task(name: str, module: str, args: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, module: args, "register": name, "ignore_errors": True, **extra}


def _twins(module: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    return [_task("upstream", f"kubernetes.core.{module}", args), _task("worker", f"harness.conformance.{module}", args)]


@pytest.mark.parametrize("module,args", [
    ("k8s_info", {"kind": "Node"}),
    ("k8s", {"kind": "Namespace", "name": "twins"}),
    ("k8s_cluster_info", {}),
    ("k8s_log", {"namespace": "default", "name": "nobody"}),
])  # fmt: skip
def test_worker_fails_as_the_shipped_module_does(dead_cluster_inventory: Path, tmp_path: Path, module: str,
                                                 args: dict[str, Any]) -> None:  # fmt: skip
    kubeconfig = str(dead_cluster_inventory.parent / "kubeconfig")
    results, log = _run(tmp_path, _twins(module, {"kubeconfig": kubeconfig, **args}))
    upstream, worker = results["upstream"], results["worker"]
    assert upstream["failed"] is True and worker["failed"] is True
    assert worker["msg"] == upstream["msg"] and "127.0.0.1" in worker["msg"], worker["msg"]
    assert worker.keys() == upstream.keys()
    assert _shipped(log, module) == 1, "only the upstream task ships its module"


def test_arguments_are_checked_by_the_module_itself(tmp_path: Path) -> None:
    results, _ = _run(tmp_path, _twins("k8s_info", {"kind": "Node", "no_such_option": 1}))
    assert results["worker"]["failed"] is True
    assert results["worker"]["msg"] == results["upstream"]["msg"]
    assert "no_such_option" in results["worker"]["msg"]


@pytest.mark.parametrize("setting", [{"environment": {"HARNESS_TWIN": "1"}},
                                     {"vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}-other"}}])  # fmt: skip
def test_a_task_environment_or_another_python_ships_the_module(dead_cluster_inventory: Path, tmp_path: Path,
                                                               setting: dict[str, Any]) -> None:  # fmt: skip
    kubeconfig = str(dead_cluster_inventory.parent / "kubeconfig")
    tasks = [_task("worker", "harness.conformance.k8s_info", {"kubeconfig": kubeconfig, "kind": "Node"}),
             _task("shipped", "harness.conformance.k8s_info", {"kubeconfig": kubeconfig, "kind": "Node"}, **setting)]  # fmt: skip
    results, log = _run(tmp_path, tasks)
    assert results["worker"]["failed"] and results["shipped"]["failed"]
    assert "127.0.0.1" in results["worker"]["msg"]
    assert _shipped(log, "k8s_info") == 1, f"with {setting} the module is shipped, else it runs in the worker"


def test_each_loop_item_starts_clean(tmp_path: Path) -> None:
    # one worker runs every item: an item's failure or warning must not leak into the next
    task = _task("items", "harness.conformance.k8s_info", {"kind": "Node", "no_such_option": "{{ item or omit }}"},
                 loop=["x", ""], failed_when=False)  # fmt: skip
    results, _ = _run(tmp_path, [task])
    first, second = results["items"]["results"]
    assert "no_such_option" in first["msg"]
    assert "no_such_option" not in second.get("msg", ""), second

