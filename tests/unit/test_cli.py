"""The CLI: bad input gives exit 2 and one line on stderr; listings; --help of every verb."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import catalog
from harness.cli import EXIT_USAGE, build_parser, main

VERBS = ["up", "verify", "run", "history", "report", "validate", "diff", "down", "doctor", "requirements", "status",
         "kubeconfig"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own errors and --help
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    inv = tmp_path / "lab"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text("all:\n  hosts: {}\n")
    (inv / "group_vars" / "all.yml").write_text("harness_lab_kind: existing\n")
    return inv


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["verify", "--only", "no_such_requirement"], "unknown requirement id 'no_such_requirement'"),
        (["verify", "--skip", "dra_support,bogus_id"], "unknown requirement id 'bogus_id'"),
        (["verify", "--checklist", "v1.99"], "no checklist v1.99"),
        (["verify", "--checklist", "banana"], "'banana' is not a checklist version"),
        (["requirements", "--checklist", "v1.20"], "no checklist v1.20"),
        (["verify", "--checklist", "v1.36", "--only", "dra_support"], "not in checklist v1.36"),
        (["verify", "--bogus-flag"], "unrecognized arguments"),
        (["frobnicate"], "invalid choice"),
        (["diff", "/nonexistent/a", "/nonexistent/b"], "is not a run directory"),
        (["validate", "/nonexistent/PRODUCT.yaml"], "is not a file"),
        (["report", "--from", "/nonexistent/run", "--out", "/tmp/x"], "does not exist"),
        (["report"], "needs --from"),
        (["verify", "-e", "novalue"], "-e 'novalue' is not KEY=VALUE"),
        (["verify", "-e", "harness_run_id=x"], "harness_* variables are set by the harness"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], needle: str, inventory: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if argv[0] == "verify":
        argv = [*argv, "-i", str(inventory)]
    code, out, err = run(argv, capsys)
    assert code == EXIT_USAGE
    assert needle in one_line_error(err)


def test_missing_inventory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(["verify", "-i", str(tmp_path / "nope")], capsys)
    assert code == EXIT_USAGE
    assert "does not exist" in one_line_error(err)


def test_inventory_without_hosts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(["verify", "-i", str(tmp_path)], capsys)
    assert code == EXIT_USAGE
    assert "hosts.yml" in one_line_error(err)


@pytest.mark.parametrize("where", ["hosts.yml", "group_vars/all.yml"])
def test_malformed_inventory_yaml(
    where: str, inventory: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (inventory / where).write_text("all:\n  vars: [unclosed\n  x: {\n")
    for verb in ("verify", "up", "doctor", "kubeconfig"):
        code, _, err = run([verb, "-i", str(inventory)], capsys)
        assert code == EXIT_USAGE, verb
        line = one_line_error(err)
        assert "malformed YAML" in line and where.split("/")[-1] in line


def test_malformed_run_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run.json").write_text("{not json")
    code, _, err = run(["report", "--from", str(tmp_path), "--out", str(tmp_path / "out")], capsys)
    assert code == EXIT_USAGE
    assert "run.json: not JSON" in one_line_error(err)


def test_requirements_lists_ids_level_category(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["requirements", "--checklist", "v1.35"], capsys)
    assert code == 0
    rows = [line.split() for line in out.strip().splitlines()]
    expected = [[r.id, r.level, r.category] for r in catalog.load("v1.35").requirements]
    assert rows == expected
    assert len(rows) == 12 and ["dra_support", "MUST", "accelerators"] in rows


def test_requirements_default_is_newest(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["requirements"], capsys)
    assert code == 0
    assert [line.split()[0] for line in out.strip().splitlines()] == catalog.load(catalog.latest()).ids()


def test_requirements_dra_support_gone_from_v1_36(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["requirements", "--checklist", "1.36"], capsys)
    assert "dra_support" not in out.split()


@pytest.mark.parametrize("verb", VERBS)
def test_help_of_every_verb(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([verb, "--help"], capsys)
    assert code == 0
    assert f"harness {verb}" in out and "examples:" in out


def test_every_verb_is_registered() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "verb")
    assert sorted(sub.choices) == sorted(VERBS)  # type: ignore[arg-type]


@pytest.mark.parametrize(("verb", "status", "rc", "want"), [
    ("up", "successful", 0, 0), ("up", "failed", 2, 3), ("down", "successful", 0, 0), ("down", "canceled", 254, 3),
])  # fmt: skip
def test_up_down_go_through_the_runner(
    verb: str, status: str, rc: int, want: int, inventory: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from harness import runner

    calls: list[tuple[str, Path]] = []

    def fake(playbook: str, inv: Path, run_dir: Path, extravars: dict[str, object], **kw: object) -> runner.PlaybookOutcome:
        calls.append((playbook, inv))
        assert extravars["harness_run_dir"] == str(run_dir)
        return runner.PlaybookOutcome(status, rc, {}, runner.EventSummary(failed_tasks=["T: boom"]), 1.0,
                                      run_dir / "ansible", run_dir / "logs" / f"{verb}.log")  # fmt: skip

    monkeypatch.setattr(runner, "run_playbook", fake)
    code, out, err = run([verb, "-i", str(inventory), "--run-dir", str(tmp_path / "runs"), "--quiet"], capsys)
    assert code == want
    assert calls == [(f"{verb}.yml", inventory)]
    if want:
        assert "T: boom" in err


def test_extra_vars_parse_json_values() -> None:
    from harness.cli import _extra_vars

    assert _extra_vars(["a=200", "b=text", 'c={"k": [1]}', "d="]) == {"a": 200, "b": "text", "c": {"k": [1]}, "d": ""}
