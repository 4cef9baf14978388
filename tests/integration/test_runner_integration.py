"""A real ansible-runner run of playbooks/verify.yml with fake verify roles (tests/integration/roles).

The roles emit through harness.conformance.emit: one passes, one fails a check, one emits then
breaks, one hangs past the per-requirement timeout; one requirement has no role and one is
declared N/A. Secrets planted in the environment must reach no file of the run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import catalog
from harness.cli import main
from harness.lab import load_inventory
from harness.report.bundle import verify_bundle
from harness.results import Outcome, Status
from harness.run import Run
from harness.verify import verify

pytestmark = pytest.mark.integration

ROLES = Path(__file__).resolve().parent / "roles"
SECRETS = {
    "HARNESS_TEST_TOKEN": "s3cr3t-token-6f1d2a",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-s3cr3t-K7MDENG",
    "INNOCENT_LOOKING_VAR": "s3cr3t-in-plain-name-91ab",  # not a secret name: still never on disk
}
SELECTED = ["dra_support", "gpu_sharing", "ai_inference", "gang_scheduling", "pod_autoscaling", "cluster_autoscaling"]


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    inv = tmp_path / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text("all:\n  hosts: {}\n")
    (inv / "group_vars" / "all.yml").write_text(
        "harness_lab_kind: existing\n"
        "harness_simulated: true\n"
        "harness_kubeconfig: /nonexistent/kubeconfig\n"
        "harness_product:\n  vendorName: Test Vendor\n  platformName: Test Platform\n  platformVersion: '1.0'\n"
        "harness_declared:\n  cluster_autoscaling:\n    status: N/A\n    reason: Fixed-size test lab.\n"
    )
    return inv


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("HARNESS_PASS_ENV", raising=False)
    return SECRETS


def files_holding(root: Path, needles: list[str]) -> list[str]:
    hits = []
    for f in root.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            hits += [f"{f.relative_to(root)}: {n[:6]}…" for n in needles if n.encode() in data]
    return hits


def test_verify_run_end_to_end(
    inventory: Path, secrets: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    code = main([
        "verify", "-i", str(inventory), "--run-dir", str(runs), "--roles-path", str(ROLES),
        "--no-project-roles", "--checklist", "v1.35", "--only", ",".join(SELECTED), "--requirement-timeout", "15", "--json",
    ])  # fmt: skip
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines()]
    summary = lines[-1]
    assert summary["type"] == "summary"
    assert code == 1 == summary["exit_code"]  # MUSTs failed, but the run finished
    assert {e["kind"] for e in lines[:-1]} >= {"play", "task", "requirement", "result", "status"}

    run_dir = Path(summary["run_dir"])
    run = Run.load(run_dir)
    assert run.state == "complete" and run.interruption is None
    assert run.checklists == ["v1.35"] and run.lab.simulated and run.lab.kind == "existing"
    assert list(run.requirements) == [i for i in catalog.load("v1.35").ids() if i in SELECTED]  # checklist order
    got = {k: (v.status, v.outcome) for k, v in run.requirements.items()}
    assert got == {
        "dra_support": (Status.IMPLEMENTED, Outcome.PASSED),
        "gpu_sharing": (Status.NOT_IMPLEMENTED, Outcome.FAILED),
        "ai_inference": (Status.NOT_IMPLEMENTED, Outcome.ERROR),
        "gang_scheduling": (Status.NOT_IMPLEMENTED, Outcome.ERROR),
        "pod_autoscaling": (Status.NOT_IMPLEMENTED, Outcome.MISSING),
        "cluster_autoscaling": (Status.NA, Outcome.DECLARED),
    }

    dra = run.requirements["dra_support"]
    assert [c.name for c in dra.checks] == ["DRA API group served", "ResourceSlices published"]
    assert dra.checks[1].observed == "2" and dra.checks[1].duration_s == 0.5
    assert dra.evidence == ["evidence/dra_support/observed.txt"]
    assert (run_dir / dra.evidence[0]).read_text() == "resourceslices: 2\n"
    assert dra.notes == "Fake role for the integration test." and dra.duration_s is not None

    gpu = run.requirements["gpu_sharing"].checks[1]
    assert (gpu.status.value, gpu.expected, gpu.observed) == ("fail", "4", "1")

    ai = run.requirements["ai_inference"].checks
    assert [c.status.value for c in ai] == ["pass", "error"]  # what it emitted, plus the rescue's error
    assert "Fail like a broken probe" in ai[1].observed

    hang = run.requirements["gang_scheduling"].checks
    assert len(hang) == 1 and "Timed out after 15" in hang[0].message

    # Files of the run: logs, artifacts, reports; nothing under env/.
    assert (run_dir / "logs" / "verify.log").read_text().count("PLAY RECAP") == 1
    assert (run_dir / "ansible" / "artifacts" / "verify" / "job_events").is_dir()
    assert not (run_dir / "ansible" / "env").exists()
    report = run_dir / "report" / "v1.35"
    for name in ("PRODUCT.yaml", "PRODUCT.md", "results/junit.xml", "SHA256SUMS"):
        assert (report / name).is_file(), name
    assert verify_bundle(report) == []
    assert "Test Platform" in (report / "PRODUCT.md").read_text()

    # Secrets: in no file of the run, and the command artifact's env is redacted.
    assert files_holding(run_dir, list(secrets.values())) == []
    env = json.loads((run_dir / "ansible" / "artifacts" / "verify" / "command").read_text())["env"]
    assert "HARNESS_TEST_TOKEN" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["INNOCENT_LOOKING_VAR"] == "<redacted>"

    # Outputs rebuild offline from run.json alone.
    assert main(["report", "--from", str(run_dir), "--out", str(tmp_path / "again"), "--quiet"]) == 0
    again = tmp_path / "again" / "v1.35" / "PRODUCT.yaml"
    assert again.read_text() == (report / "PRODUCT.yaml").read_text()


def test_cancel_keeps_partial_results(inventory: Path, secrets: dict[str, str], tmp_path: Path) -> None:
    """Cancel once the second requirement started (its role hangs): run.json is partial, cleanup.yml
    ran, secrets stay out. (Cancelling as soon as the first one reported would race its block's end.)"""
    lab = load_inventory(inventory)
    started: list[str] = []

    result = verify(
        lab, ["v1.35"], ["dra_support", "gang_scheduling", "gpu_sharing"],
        runs_dir=tmp_path / "runs", requirement_timeout=120, roles_path=[ROLES], project_roles=False,
        on_event=lambda e: started.append(e.requirement) if e.kind == "requirement" else None,
        cancel=lambda: "gang_scheduling" in started,
    )  # fmt: skip
    run = Run.load(result.run_dir)
    assert result.outcome.status == "canceled"
    assert run.state == "partial" and run.interruption and run.interruption["reason"] == "canceled"
    assert result.exit_code == 3
    assert run.requirements["dra_support"].status is Status.IMPLEMENTED  # collected before the stop
    assert run.requirements["gpu_sharing"].outcome is Outcome.MISSING  # never ran
    gang = run.requirements["gang_scheduling"]
    assert gang.status is Status.NOT_IMPLEMENTED and gang.outcome is Outcome.ERROR  # stopped in its role
    assert result.cleanup is not None and result.cleanup.ok  # nothing to delete without a cluster
    assert (result.run_dir / "logs" / "cleanup.log").is_file()
    assert files_holding(result.run_dir, list(secrets.values())) == []
    # No ansible process of the run lives on (ansible's workers setsid() and would be orphaned).
    assert processes_mentioning(run.run_id) == []


def processes_mentioning(text: str) -> list[int]:
    found = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            if text.encode() in (d / "cmdline").read_bytes():
                found.append(int(d.name))
        except OSError:
            continue
    return found
