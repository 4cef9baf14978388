"""Lab: harness.conformance.k8s* give what kubernetes.core.k8s* give, call for call, on the running lab.

The same sequence (create, apply again, read, a kind the cluster lacks, the cluster's APIs, delete, a log
nobody wrote) runs once through kubernetes.core's shipped modules and once through the worker; the
results match once what the API server stamps (uids, resourceVersions, times) is set aside.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.runner import PROJECT_ROOT, build_envvars
from lab_fixtures import SimLab

pytestmark = pytest.mark.lab

HIDDEN = "harness-not-a-real-password"
STAMPED = {"uid", "resourceVersion", "creationTimestamp", "managedFields", "time"}


def _steps(kubeconfig: str, name: str) -> list[tuple[str, str, dict[str, Any]]]:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}, "data": {"a": "1", "note": HIDDEN}}
    return [
        ("create", "k8s", {"definition": cm}),
        ("again", "k8s", {"definition": cm}),
        ("read", "k8s_info", {"kind": "ConfigMap", "namespace": "default", "name": name}),
        # a no_log option's value is hidden wherever it shows in the result (the API server ignores basic auth)
        ("hidden", "k8s_info", {"kind": "ConfigMap", "namespace": "default", "name": name,
                                "username": "harness", "password": HIDDEN}),
        ("unknown_kind", "k8s_info", {"kind": "NoSuchKind"}),
        ("apis", "k8s_cluster_info", {}),
        ("delete", "k8s", {"definition": cm, "state": "absent", "wait": True}),
        ("no_log", "k8s_log", {"namespace": "default", "label_selectors": ["harness.dev/none=here"]}),
    ]  # fmt: skip


def _unstamped(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _unstamped(v) for k, v in value.items() if k not in STAMPED}
    if isinstance(value, list):
        return [_unstamped(v) for v in value]
    return value


def _run(tmp_path: Path, collection: str, kubeconfig: str) -> dict[str, Any]:
    steps = _steps(kubeconfig, f"harness-twin-{collection.split('.')[0]}")
    tasks: list[dict[str, Any]] = [
        {"name": step, f"{collection}.{module}": {"kubeconfig": kubeconfig, **args}, "register": step, "ignore_errors": True}
        for step, module, args in steps
    ]  # fmt: skip
    out = tmp_path / f"{collection}.json"
    tasks.append({"name": "dump", "ansible.builtin.copy": {"dest": str(out), "content": "{{ results | to_json }}"},
                  "vars": {"results": {s: f"{{{{ {s} }}}}" for s, _, _ in steps}}})  # fmt: skip
    pb = tmp_path / f"{collection}.yml"
    pb.write_text(json.dumps([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                               "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, "tasks": tasks}]))  # fmt: skip
    done = subprocess.run(["ansible-playbook", "-i", "localhost,", str(pb)], cwd=PROJECT_ROOT, env={**build_envvars()},
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert out.is_file(), done.stdout[-3000:] + done.stderr[-2000:]
    results: dict[str, Any] = json.loads(out.read_text())
    # the names differ by the collection; the rest must not
    return json.loads(json.dumps(_unstamped(results)).replace(steps[0][2]["definition"]["metadata"]["name"], "NAME"))


def test_worker_results_equal_the_shipped_modules(lab: SimLab, tmp_path: Path) -> None:
    upstream = _run(tmp_path, "kubernetes.core", str(lab.kubeconfig))
    worker = _run(tmp_path, "harness.conformance", str(lab.kubeconfig))
    assert upstream["create"]["changed"] is True and upstream["again"]["changed"] is False
    assert upstream["unknown_kind"]["api_found"] is False and upstream["no_log"]["failed"] is True
    assert upstream["read"]["resources"][0]["data"]["note"] == HIDDEN
    assert upstream["hidden"]["resources"][0]["data"]["note"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    for step in upstream:
        assert worker[step] == upstream[step], step
