"""Selection of checklists and requirements, building results, and the exit code rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness import catalog
from harness.lab import Lab
from harness.results import Declaration, Outcome, Status
from harness.run import Run
from harness.verify import (
    SelectionError,
    build_requirements,
    exit_code,
    select_checklists,
    select_requirements,
)

ROOT = Path(__file__).resolve().parents[2]


def test_checklists_default_and_normalised() -> None:
    assert select_checklists([]) == [catalog.latest()]
    assert select_checklists(["1.35", "v1.35.3", "v1.33"]) == ["v1.35", "v1.33"]
    with pytest.raises(SelectionError):
        select_checklists(["v2.0"])


def test_requirements_order_only_skip() -> None:
    assert select_requirements(["v1.35"], [], []) == catalog.load("v1.35").ids()
    assert select_requirements(["v1.35"], ["gang_scheduling", "dra_support"], []) == ["dra_support", "gang_scheduling"]
    assert "gpu_sharing" not in select_requirements(["v1.35"], [], ["gpu_sharing"])
    both = select_requirements(["v1.33", "v1.37"], [], [])
    assert both[: len(catalog.load("v1.37").ids())] == catalog.load("v1.37").ids()
    assert "dra_support" in both  # only in the older one, appended


def test_requirements_errors() -> None:
    with pytest.raises(SelectionError, match="unknown requirement id"):
        select_requirements(["v1.37"], ["nope"], [])
    with pytest.raises(SelectionError, match="it is in v1.33, v1.34, v1.35"):
        select_requirements(["v1.37"], ["dra_support"], [])
    with pytest.raises(SelectionError, match="no requirement"):
        select_requirements(["v1.35"], ["dra_support"], ["dra_support"])


def _lab(declared: dict[str, Declaration] | None = None) -> Lab:
    return Lab(name="t", path=Path("."), kind="existing", simulated=True, declared=declared or {})


def test_build_requirements_statuses() -> None:
    data = {"harness_results": {
        "dra_support": {"checks": [{"name": "a", "status": "pass"}]},
        "gpu_sharing": {"checks": [{"name": "a", "status": "pass"}, {"name": "b", "status": "fail"}]},
        "gang_scheduling": {"checks": [{"name": "a", "status": "bogus"}]},
        "ai_inference": {"checks": [{"name": "a", "status": "pass"}]},
    }}  # fmt: skip
    lab = _lab({"cluster_autoscaling": Declaration(Status.NA, "fixed-size lab")})
    ids = ["dra_support", "gpu_sharing", "gang_scheduling", "ai_inference", "pod_autoscaling", "cluster_autoscaling"]
    res = build_requirements(ids, data, lab, interrupted="ai_inference")
    got = {k: (v.status, v.outcome) for k, v in res.items()}
    assert got == {
        "dra_support": (Status.IMPLEMENTED, Outcome.PASSED),
        "gpu_sharing": (Status.NOT_IMPLEMENTED, Outcome.FAILED),
        "gang_scheduling": (Status.NOT_IMPLEMENTED, Outcome.ERROR),  # unreadable record is an error
        "ai_inference": (Status.NOT_IMPLEMENTED, Outcome.ERROR),  # interrupted mid-role: never a pass
        "pod_autoscaling": (Status.NOT_IMPLEMENTED, Outcome.MISSING),
        "cluster_autoscaling": (Status.NA, Outcome.DECLARED),
    }
    assert all(r.simulated for r in res.values())


def test_exit_code() -> None:
    lab = _lab({"cluster_autoscaling": Declaration(Status.NA, "fixed")})
    must = [r.id for r in catalog.load("v1.35").requirements if r.level == "MUST"]
    should = [r.id for r in catalog.load("v1.35").requirements if r.level == "SHOULD"]
    passing = {i: {"checks": [{"name": "a", "status": "pass"}]} for i in must}
    run = Run(run_id="r", checklists=["v1.35"])
    run.requirements = build_requirements(must + should, {"harness_results": passing}, lab)
    assert exit_code(run) == 0  # SHOULDs missing do not fail the run
    run.requirements["dra_support"].status = Status.NOT_IMPLEMENTED
    assert exit_code(run) == 1
    run.state = "partial"
    assert exit_code(run) == 3


def test_emit_role_knows_every_requirement_id() -> None:
    vars_file = ROOT / "collections/ansible_collections/harness/conformance/roles/emit/vars/main.yml"
    known = yaml.safe_load(vars_file.read_text())["emit_known_requirements"]
    assert known == catalog.all_ids()
