"""Lab lifecycle helpers shared by tests/lab/conftest.py and the lab tests (import by module name)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.simlab.status import read_components

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


def up_args() -> list[str]:
    """Extra ansible-playbook arguments for up.yml from HARNESS_LAB_UP_ARGS (e.g. "--tags sim_dra,...")."""
    return shlex.split(os.environ.get("HARNESS_LAB_UP_ARGS", ""))


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


def sweep_earlier_runs(kubeconfig: Path) -> list[str]:
    """Delete what runs of an earlier, killed session left (their namespaces carry the run-id label),
    through cleanup.yml as `harness verify` does; return those run ids. Tests assert that *their*
    run left nothing, so a lab reused after a crash must start without strangers."""
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    try:
        items = client.CoreV1Api(api).list_namespace(label_selector="harness.dev/run-id").items
    finally:
        api.close()
    run_ids = sorted({str(ns.metadata.labels["harness.dev/run-id"]) for ns in items})
    if run_ids:
        proc = run_playbook("cleanup.yml", "-e", json.dumps({"harness_run_ids": run_ids,
                                                              "harness_kubeconfig": str(kubeconfig)}), timeout=600)
        assert proc.returncode == 0, f"cleanup.yml for earlier runs {run_ids} failed:\n{tail(proc)}"
    return run_ids


def tail(proc: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    return "\n".join((proc.stdout + proc.stderr).splitlines()[-lines:])
