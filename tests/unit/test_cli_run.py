"""`harness run` (up, verify, report, diff, down: one exit code), the history line every verify appends,
and `harness history`."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from unit_fixtures import make_sample_run

from harness import cli, history, runner
from harness.results import Outcome, Status


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    inv = tmp_path / "nightly-lab"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text("all:\n  hosts: {}\n")
    (inv / "group_vars" / "all.yml").write_text("harness_lab_kind: existing\n")
    return inv


def saved_run(d: Path, gang: tuple[Status, Outcome] | None = None) -> Path:
    r = make_sample_run()
    if gang:
        r.requirements["gang_scheduling"].status, r.requirements["gang_scheduling"].outcome = gang
    d.mkdir(parents=True, exist_ok=True)
    r.save(d)
    return d


class Steps:
    """Stands in for up, verify and down; records the order they ran in."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, run_dir: Path, up: int = 0, verify: int = 0, down: int = 0):
        self.calls: list[str] = []

        def step(name: str, code: int) -> Any:
            def fn(args: Any) -> int:
                self.calls.append(name)
                return code

            return fn

        def fake_verify(args: Any) -> tuple[int, Any]:
            self.calls.append("verify")
            return verify, SimpleNamespace(run_dir=run_dir)

        monkeypatch.setattr(cli, "cmd_up", step("up", up))
        monkeypatch.setattr(cli, "cmd_down", step("down", down))
        monkeypatch.setattr(cli, "_verify", fake_verify)


@pytest.mark.parametrize(("up", "verify", "down", "keep", "calls", "want"), [
    (0, 0, 0, False, ["up", "verify", "down"], 0),
    (0, 1, 0, False, ["up", "verify", "down"], 1),
    (3, 0, 0, False, ["up", "down"], 3),  # the lab did not come up: no verify, still taken down
    (0, 3, 0, False, ["up", "verify", "down"], 3),  # verify interrupted: down all the same
    (0, 0, 3, False, ["up", "verify", "down"], 3),  # the lab would not go down
    (0, 1, 0, True, ["up", "verify"], 1),  # --keep
])  # fmt: skip
def test_run_steps_and_one_exit_code(
    up: int, verify: int, down: int, keep: bool, calls: list[str], want: int, inventory: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    steps = Steps(monkeypatch, saved_run(tmp_path / "tonight"), up, verify, down)
    argv = ["run", "-i", str(inventory), "--run-dir", str(tmp_path / "runs")] + (["--keep"] if keep else [])
    code, out, _ = run(argv, capsys)
    assert (steps.calls, code) == (calls, want)
    assert out.strip().splitlines()[-1].endswith(f"-> exit {want}")


@pytest.mark.parametrize(("tonight", "want"), [
    (None, 0),  # same as the baseline
    ((Status.NOT_IMPLEMENTED, Outcome.FAILED), 1),  # gang_scheduling regressed
])  # fmt: skip
def test_baseline_regression_makes_a_passing_night_exit_1(
    tonight: tuple[Status, Outcome] | None, want: int, inventory: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    baseline = saved_run(tmp_path / "last-night")
    steps = Steps(monkeypatch, saved_run(tmp_path / "tonight", tonight))
    code, out, _ = run(["run", "-i", str(inventory), "--baseline", str(baseline)], capsys)
    assert steps.calls == ["up", "verify", "down"]
    assert code == want
    assert f"diff {want}" in out.splitlines()[-1]
    if want:
        assert "gang_scheduling" in out


def test_json_mode_keeps_stdout_json(
    inventory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = saved_run(tmp_path / "last-night")
    Steps(monkeypatch, saved_run(tmp_path / "tonight", (Status.NOT_IMPLEMENTED, Outcome.FAILED)))
    code, out, err = run(["run", "-i", str(inventory), "--baseline", str(baseline), "--json"], capsys)
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["type"] == "run" and summary["exit_code"] == code == 1
    assert summary["steps"] == {"up": 0, "verify": 0, "diff": 1, "down": 0}
    assert "gang_scheduling" in err  # the diff table went to stderr


def test_out_writes_the_reports(
    inventory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    Steps(monkeypatch, saved_run(tmp_path / "tonight"))
    code, _, _ = run(["run", "-i", str(inventory), "--out", str(tmp_path / "out")], capsys)
    assert code == 0
    assert (tmp_path / "out" / "v1.37" / "results" / "junit.xml").is_file()
    assert (tmp_path / "out" / "v1.37" / "PRODUCT.yaml").is_file()


@pytest.mark.parametrize(("argv", "needle"), [
    (["--only", "bogus_id"], "unknown requirement id 'bogus_id'"),
    (["--baseline", "/nonexistent/run"], "is not a run directory"),
    (["-e", "novalue"], "is not KEY=VALUE"),
])  # fmt: skip
def test_input_errors_stop_before_the_lab_is_touched(
    argv: list[str], needle: str, inventory: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    steps = Steps(monkeypatch, tmp_path)
    code, _, err = run(["run", "-i", str(inventory), *argv], capsys)
    assert code == 2 and steps.calls == []
    assert needle in err and len(err.strip().splitlines()) == 1


def test_baseline_last_takes_the_newest_run_of_the_lab_from_the_history(
    inventory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    good = saved_run(runs / "night-1")
    other_lab = saved_run(runs / "night-2", (Status.NOT_IMPLEMENTED, Outcome.FAILED))
    for d, lab in ((good, inventory.name), (other_lab, "some-other-lab")):
        r = make_sample_run()
        r.lab.name = lab
        history.append(history.default_path(runs), history.entry_for(r, d, 0))
    steps = Steps(monkeypatch, saved_run(tmp_path / "tonight", (Status.NOT_IMPLEMENTED, Outcome.FAILED)))
    code, out, _ = run(["run", "-i", str(inventory), "--run-dir", str(runs), "--baseline", "last"], capsys)
    assert code == 1 and "diff 1" in out.splitlines()[-1]  # compared with night-1, where it passed
    assert steps.calls == ["up", "verify", "down"]


def test_baseline_last_on_a_first_night_compares_nothing(
    inventory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    Steps(monkeypatch, saved_run(tmp_path / "tonight"))
    code, out, err = run(["run", "-i", str(inventory), "--run-dir", str(tmp_path / "runs"), "--baseline", "last"],
                         capsys)  # fmt: skip
    assert code == 0 and "diff" not in out.splitlines()[-1]
    assert "no earlier run of nightly-lab" in err


# --- the history line of every verify, and `harness history` ----------------------------------


def fake_playbook(results: dict[str, Any]) -> Any:
    def fake(playbook: str, inv: Path, run_dir: Path, extravars: dict[str, Any], **kw: Any) -> runner.PlaybookOutcome:
        return runner.PlaybookOutcome("successful", 0, {"harness_results": results}, runner.EventSummary(), 1.0,
                                      run_dir / "ansible", run_dir / "logs" / "verify.log")  # fmt: skip

    return fake


def test_every_verify_appends_a_history_line(
    inventory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness import verify

    monkeypatch.setattr(verify, "run_playbook", fake_playbook({
        "gang_scheduling": {"checks": [{"name": "gang", "status": "pass"}], "duration_s": 3.25},
        "ai_inference": {"checks": [{"name": "share", "status": "fail"}], "duration_s": 7.5},
    }))  # fmt: skip
    runs = tmp_path / "runs"
    argv = ["verify", "-i", str(inventory), "--run-dir", str(runs), "--quiet", "--only", "gang_scheduling,ai_inference"]
    for _ in range(2):
        code, _, _ = run(argv, capsys)
        assert code == 1
    entries, problems = history.load(runs / "history.jsonl")
    assert problems == [] and len(entries) == 2
    e = entries[-1]
    assert e.lab == "nightly-lab" and e.exit_code == 1 and e.state == "complete"
    assert e.requirements == {
        "gang_scheduling": history.Point("Implemented", "passed", 3.25),
        "ai_inference": history.Point("Not Implemented", "failed", 7.5),
    }
    assert (Path(e.run_dir) / "run.json").is_file()
    # --history puts the line elsewhere
    code, _, _ = run([*argv, "--history", str(tmp_path / "elsewhere.jsonl")], capsys)
    assert len(history.load(tmp_path / "elsewhere.jsonl")[0]) == 1
    assert len(history.load(runs / "history.jsonl")[0]) == 2

    code, out, _ = run(["history", "--run-dir", str(runs)], capsys)
    assert code == 0 and "nightly-lab: 2 nights" in out
    assert sum(1 for line in out.splitlines() if "gang_scheduling" in line and line.count("✓") == 2) == 1
    code, out, _ = run(["history", "--run-dir", str(runs), "--html", str(tmp_path / "page.html")], capsys)
    assert code == 0 and out.strip() == str(tmp_path / "page.html")
    assert (tmp_path / "page.html").read_text().count('data-requirement="ai_inference" data-run-id=') == 2
    code, out, _ = run(["history", "--run-dir", str(runs), "--json", "--last", "1"], capsys)
    assert [json.loads(line)["run_id"] for line in out.splitlines()] == [e.run_id]


@pytest.mark.parametrize(("setup", "needle"), [
    ("none", "no history at"),
    ("other-lab", "holds no run of lab 'nightly-lab' (labs: local-sim)"),
])  # fmt: skip
def test_history_input_errors(
    setup: str, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if setup == "other-lab":
        history.append(tmp_path / "history.jsonl", history.entry_for(make_sample_run(), tmp_path, 1))
    code, _, err = run(["history", "--run-dir", str(tmp_path), "--lab", "nightly-lab"], capsys)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
