"""Lab: harness.conformance.accelerator_count counts what the accelerator_capacity filter counts on the
lists kubectl would print (2 kwok nodes of 8 GPUs, published both as nvidia.com/gpu and as DRA devices)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from harness.runner import PROJECT_ROOT, build_envvars
from lab_fixtures import SimLab
from tests.unit.unit_fixtures import load_plugin

pytestmark = pytest.mark.lab

plan_filter = load_plugin("filter", "verify_plan")


def test_the_count_equals_the_filter_on_the_listed_objects(lab: SimLab, k8s: client.ApiClient, tmp_path: Path) -> None:
    out = tmp_path / "count.json"
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, "tasks": [
        {"name": "Count", "harness.conformance.accelerator_count": {"kubeconfig": str(lab.kubeconfig)},
         "register": "counted"},
        {"name": "Dump", "ansible.builtin.copy": {"dest": str(out), "content": "{{ counted | to_json }}"}}]}]  # fmt: skip
    pb = tmp_path / "count.yml"
    pb.write_text(json.dumps(play))
    done = subprocess.run(["ansible-playbook", "-i", "localhost,", str(pb)], cwd=PROJECT_ROOT, env={**build_envvars()},
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    counted: dict[str, Any] = json.loads(out.read_text())
    nodes = k8s.sanitize_for_serialization(client.CoreV1Api(k8s).list_node().items)
    slices = client.CustomObjectsApi(k8s).list_cluster_custom_object("resource.k8s.io", "v1", "resourceslices")["items"]
    assert counted["nodes"] == len(nodes) and counted["slices"] == len(slices)
    assert counted["accelerators"] == plan_filter.accelerator_capacity(nodes, slices) > 0
