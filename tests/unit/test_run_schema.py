from __future__ import annotations

from pathlib import Path

from harness.results import Check, CheckStatus, Declaration, RoleReport, Status, decide
from harness.run import LabInfo, Run, validate_run_dict


def a_run() -> Run:
    rep = RoleReport("ai_inference", [Check("route_accepted", CheckStatus.PASS, "True", "True")], ["evidence/ai_inference/route.yaml"])
    return Run(
        run_id="20261123T120000Z-abc123",
        checklists=["v1.37"],
        lab=LabInfo(name="local-sim", kind="local-sim", simulated=True, kubernetes_version="v1.37.2"),
        requirements={
            "ai_inference": decide("ai_inference", rep, None),
            "cluster_autoscaling": decide("cluster_autoscaling", None, Declaration(Status.NA, "no autoscaler")),
            "gang_scheduling": decide("gang_scheduling", None, None),
        },
        started="2026-11-23T12:00:00Z",
        duration_s=12.5,
    )


def test_run_validates_against_schema() -> None:
    assert validate_run_dict(a_run().to_dict()) == []


def test_schema_rejects_bad_status() -> None:
    d = a_run().to_dict()
    d["requirements"]["ai_inference"]["status"] = "Passed"
    d["requirements"]["ai_inference"]["checks"][0]["status"] = "ok"
    problems = validate_run_dict(d)
    assert any("requirements/ai_inference/status" in p for p in problems)
    assert any("checks/0/status" in p for p in problems)


def test_save_load_round_trip(tmp_path: Path) -> None:
    run = a_run()
    run.save(tmp_path)
    assert Run.load(tmp_path) == run
    assert Run.load(tmp_path / "run.json").to_dict() == run.to_dict()
