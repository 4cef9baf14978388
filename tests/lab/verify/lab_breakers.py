"""Helpers of the controller and metrics verify-role tests: read checks, find leftovers, stop a lab
component and bring it back.

A component is stopped the way `harness down` stops it (``harness.conformance.sim_process``
``state=absent``, which also removes its record) and restored by re-running the lab role that
made it (``playbooks/up.yml --tags <role>``), so it comes back exactly as `harness up` made it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kubernetes import client

from harness.results import Check, RequirementResult
from lab_fixtures import INVENTORY, REPO, run_playbook, tail


def by_name(result: RequirementResult) -> dict[str, Check]:
    return {c.name: c for c in result.checks}


def summary(result: RequirementResult) -> list[tuple[str, str, str]]:
    """What an assertion message should show: every check's name, status and observation."""
    return [(c.name, str(c.status), c.observed[:200]) for c in result.checks]


def leftovers(k8s: Any, requirement: str) -> list[str]:
    """Namespaces a verify role made (label harness.dev/requirement) that are still there."""
    items = client.CoreV1Api(k8s).list_namespace(label_selector=f"harness.dev/requirement={requirement}").items
    return [str(ns.metadata.name) for ns in items if ns.metadata]


def assert_evidence(result: RequirementResult, run_dir: Path, requirement: str) -> None:
    """Every evidence file the record names exists, and the lab notebook has an entry per check."""
    assert result.evidence, "no evidence recorded"
    for rel in result.evidence:
        assert (run_dir / rel).is_file(), rel
    notebook = (run_dir / "evidence" / requirement / "output.md").read_text()
    for check in result.checks:
        assert check.name in notebook, check.name


def stop_component(state_dir: Path, name: str) -> None:
    bindir = Path(sys.executable).parent
    proc = subprocess.run(
        [str(bindir / "ansible"), "localhost", "-i", str(INVENTORY), "-m", "harness.conformance.sim_process",
         "-a", f"name={name} state=absent state_dir={state_dir}"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


@contextmanager
def component_stopped(state_dir: Path, name: str, restore_tag: str) -> Iterator[None]:
    """Stop a lab component for the body of the with-block; re-run its lab role afterwards."""
    stop_component(state_dir, name)
    try:
        yield
    finally:
        proc = run_playbook("up.yml", "--tags", restore_tag, timeout=900)
        assert proc.returncode == 0, f"restoring {name} (up.yml --tags {restore_tag}) failed:\n{tail(proc)}"
