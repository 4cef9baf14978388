"""Session fixtures of the lab tests: the simulated lab, brought up once, and a client for it.

- ``lab``: brings the lab up with ``ansible-playbook -i inventories/local-sim playbooks/up.yml``
  once per session and tears it down (``playbooks/down.yml``) at the end. With
  ``HARNESS_LAB_REUSE=1`` a lab that is already up is used as it is and left up.
  ``HARNESS_LAB_KEEP=1`` leaves a lab this session started up at the end.
- ``k8s``: a ``kubernetes.client.ApiClient`` on the lab's admin kubeconfig.

Tests marked ``lab_teardown`` run after every other test of the session.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from harness.simlab.status import kubeconfig_path, lab_state_dir, read_components

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "inventories" / "local-sim"
CORE_COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "dra-driver")


@dataclass
class SimLab:
    """What the tests know about the running lab."""

    state_dir: Path
    kubeconfig: Path
    inventory: Path
    vars: dict[str, Any]
    started_here: bool
    up_seconds: float | None = None
    torn_down: bool = False
    notes: list[str] = field(default_factory=list)


def inventory_vars() -> dict[str, Any]:
    data = yaml.safe_load((INVENTORY / "group_vars" / "all.yml").read_text()) or {}
    return dict(data)


def run_playbook(name: str, *extra: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    """Run one of playbooks/ against the local-sim inventory with the venv's ansible-playbook."""
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    cmd = [str(bindir / "ansible-playbook"), "-i", str(INVENTORY), str(REPO / "playbooks" / name), *extra]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def recap(output: str) -> dict[str, int]:
    """The PLAY RECAP counters of localhost."""
    match = re.search(r"^localhost\s*:\s*(.*)$", output, re.MULTILINE)
    assert match, f"no PLAY RECAP in ansible output:\n{output[-3000:]}"
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def lab_is_up(state_dir: Path) -> bool:
    comps = {c.name: c for c in read_components(state_dir)}
    return all(n in comps and comps[n].state == "running" for n in CORE_COMPONENTS)


def _tail(proc: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    return "\n".join((proc.stdout + proc.stderr).splitlines()[-lines:])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "lab_teardown: runs last; takes the lab down")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("lab_teardown") is not None)


@pytest.fixture(scope="session")
def lab() -> Iterator[SimLab]:
    values = inventory_vars()
    state = lab_state_dir(values)
    reuse = os.environ.get("HARNESS_LAB_REUSE") == "1"
    info = SimLab(state_dir=state, kubeconfig=kubeconfig_path(state), inventory=INVENTORY, vars=values,
                  started_here=False)
    if reuse and lab_is_up(state):
        info.notes.append("reused a running lab (HARNESS_LAB_REUSE=1)")
    else:
        start = time.monotonic()
        proc = run_playbook("up.yml")
        info.up_seconds = time.monotonic() - start
        if proc.returncode != 0:
            pytest.fail(f"bringing the lab up failed (rc={proc.returncode}):\n{_tail(proc)}", pytrace=False)
        info.started_here = True
    yield info
    if info.started_here and not info.torn_down and os.environ.get("HARNESS_LAB_KEEP") != "1":
        run_playbook("down.yml")


@pytest.fixture(scope="session")
def k8s(lab: SimLab) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=str(lab.kubeconfig))
    yield api
    api.close()
