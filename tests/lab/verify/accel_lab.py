"""Helpers of the accelerator verify-role tests: read checks, find leftovers, patch a simulated node.

The simulated nodes are plain Node objects kwok keeps Ready, so a test can make one look like a
time-sliced or vGPU node by changing its labels and allocatable, and must put them back after.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kubernetes import client

from harness.results import Check, RequirementResult


def by_name(result: RequirementResult) -> dict[str, Check]:
    return {c.name: c for c in result.checks}


def summary(result: RequirementResult) -> list[tuple[str, str, str]]:
    """What an assertion message should show: every check's name, status and observation."""
    return [(c.name, str(c.status), c.observed[:200]) for c in result.checks]


def leftover_namespaces(k8s: Any, requirement: str) -> list[str]:
    items = client.CoreV1Api(k8s).list_namespace(label_selector=f"harness.dev/requirement={requirement}").items
    return [str(ns.metadata.name) for ns in items if ns.metadata]


def assert_only_hardware_missing(result: RequirementResult) -> None:
    """Everything the simulated lab can show passed; what it cannot is skipped, required, and says why."""
    assert result.outcome == "incomplete", summary(result)
    skipped = [c for c in result.checks if c.status == "skip" and c.required]
    assert skipped, summary(result)
    for c in skipped:
        assert c.message, c
    assert all(c.status == "pass" for c in result.checks if not (c.status == "skip")), summary(result)


def assert_evidence(result: RequirementResult, run_dir: Path, requirement: str, *names: str) -> None:
    assert result.evidence, "no evidence recorded"
    for rel in result.evidence:
        assert (run_dir / rel).is_file(), rel
    base = run_dir / "evidence" / requirement
    assert (base / "output.md").is_file()
    for name in names:
        assert (base / name).is_file(), name


@contextmanager
def patched_node(k8s: Any, node: str, labels: Mapping[str, str | None], allocatable: Mapping[str, str] | None = None
                 ) -> Iterator[None]:
    """Set labels (None removes one) and allocatable=capacity on a node; restore both afterwards."""
    core = client.CoreV1Api(k8s)
    before: Any = core.read_node(node)
    old_labels = dict(before.metadata.labels or {})
    old_capacity = dict(before.status.capacity or {})
    old_allocatable = dict(before.status.allocatable or {})
    try:
        core.patch_node(node, {"metadata": {"labels": dict(labels)}})
        if allocatable:
            core.patch_node_status(node, {"status": {"capacity": dict(allocatable), "allocatable": dict(allocatable)}})
        yield
    finally:
        restore = {k: old_labels.get(k) for k in labels}
        core.patch_node(node, {"metadata": {"labels": restore}})
        if allocatable:
            core.patch_node_status(node, {"status": {
                "capacity": {k: old_capacity.get(k) for k in allocatable},
                "allocatable": {k: old_allocatable.get(k) for k in allocatable}}})


GOLDEN = Path(__file__).resolve().parent / "golden"


def check_line(status: str, required: bool, needs_hardware: bool, name: str) -> str:
    """One check of a golden shape: "pass | required | <name>" (", needs hardware" after required)."""
    return f"{status} | {'required' if required else 'optional'}{', needs hardware' if needs_hardware else ''} | {name}"


def verify_shape(result: RequirementResult, run_dir: Path, requirement: str) -> dict[str, Any]:
    """What a healthy run of a role must keep from one version of the role to the next: its status,
    every check's name, status and kind, its evidence files and its lab notebook's steps (not the
    observed values, nor anything naming the run)."""
    run_id = run_dir.name
    slug = run_id.lower()

    def plain(text: str) -> str:
        return text.replace(run_id, "<run-id>").replace(slug, "<run-id>")

    notebook = run_dir / "evidence" / requirement / "output.md"
    steps = [plain(line[3:]) for line in notebook.read_text("utf-8").splitlines() if line.startswith("## ")]
    return {
        "status": str(result.status),
        "outcome": str(result.outcome),
        "checks": [check_line(str(c.status), c.required, c.needs_hardware, plain(c.name)) for c in result.checks],
        "evidence": sorted(plain(p) for p in result.evidence),
        "notebook": steps,
    }


def assert_same_as_golden(result: RequirementResult, run_dir: Path, requirement: str) -> None:
    """The healthy run's shape equals tests/lab/verify/golden/<requirement>.json (UPDATE_GOLDEN=1 rewrites it):
    a role rewritten (its judgement moved into a filter, its tasks merged) must not change what it reports."""
    shape = verify_shape(result, run_dir, requirement)
    path = GOLDEN / f"{requirement}.json"
    text = json.dumps(shape, indent=1, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
        return
    assert path.is_file(), f"golden file {path} is missing; run with UPDATE_GOLDEN=1 to create it"
    golden = json.loads(path.read_text("utf-8"))
    assert shape == golden, "\n".join(difflib.unified_diff(
        json.dumps(golden, indent=1, ensure_ascii=False).splitlines(), text.splitlines(),
        f"golden/{requirement}.json", "this run", lineterm=""))  # fmt: skip
