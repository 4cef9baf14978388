"""harness.conformance.accelerator_count against a cluster that does not answer: a failure that names the
kubeconfig and the problem (verify.yml's plan then sets no limit; tests/lab counts a live lab)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from harness.runner import PROJECT_ROOT, build_envvars

pytestmark = pytest.mark.integration


def count(tmp_path: Path, kubeconfig: str) -> dict[str, object]:
    out = tmp_path / "count.json"
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, "tasks": [
        {"name": "Count", "harness.conformance.accelerator_count": {"kubeconfig": kubeconfig, "request_timeout": 5},
         "register": "counted", "ignore_errors": True},
        {"name": "Dump", "ansible.builtin.copy": {"dest": str(out), "content": "{{ counted | to_json }}"}}]}]  # fmt: skip
    pb = tmp_path / "count.yml"
    pb.write_text(json.dumps(play))
    done = subprocess.run(["ansible-playbook", "-i", "localhost,", str(pb)], cwd=PROJECT_ROOT,
                          env={**os.environ, **build_envvars()}, capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip
    assert out.is_file(), done.stdout[-3000:] + done.stderr[-2000:]
    result: dict[str, object] = json.loads(out.read_text())
    return result


def test_a_cluster_that_does_not_answer_is_named_in_the_failure(dead_cluster_inventory: Path, tmp_path: Path) -> None:
    kubeconfig = str(dead_cluster_inventory.parent / "kubeconfig")
    result = count(tmp_path, kubeconfig)
    assert result["failed"] is True and "accelerators" not in result
    assert f"could not count the accelerators through {kubeconfig}" in str(result["msg"])
    assert "127.0.0.1" in str(result["msg"])


def test_a_missing_kubeconfig_is_named_in_the_failure(tmp_path: Path) -> None:
    result = count(tmp_path, str(tmp_path / "nope"))
    assert result["failed"] is True and f"no kubeconfig at {tmp_path / 'nope'}" in str(result["msg"])
