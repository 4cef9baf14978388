"""docs/examples/github-actions-nightly.yml stays in step with the CLI and with where reports land."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import build_parser, main

WORKFLOW = Path(__file__).resolve().parents[2] / "docs" / "examples" / "github-actions-nightly.yml"


def steps() -> list[dict[str, Any]]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    return [s for job in doc["jobs"].values() for s in job["steps"]]


def harness_commands() -> list[list[str]]:
    """Every `.venv/bin/harness ...` of the workflow's run steps, up to a pipe or a redirection."""
    out = []
    for s in steps():
        script = str(s.get("run", "")).replace("\\\n", " ")
        for line in script.splitlines():
            if ".venv/bin/harness " not in line:
                continue
            words = shlex.split(line[line.index(".venv/bin/harness ") :], comments=True)[1:]
            cut = next((i for i, w in enumerate(words) if w in ("|", "||", "&&", ";") or w.startswith("2>")), len(words))
            out.append(words[:cut])
    return out


def test_every_harness_command_of_the_workflow_parses() -> None:
    commands = harness_commands()
    assert {c[0] for c in commands} >= {"run", "history"}
    parser = build_parser()
    for argv in commands:
        try:
            parser.parse_args(argv)
        except SystemExit as e:  # pragma: no cover - the message is on stderr
            pytest.fail(f"`harness {' '.join(argv)}` does not parse (exit {e.code})")


def test_the_junit_pattern_finds_what_run_out_writes(sample_run_dir: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    run_cmd = next(c for c in harness_commands() if c[0] == "run")
    out = run_cmd[run_cmd.index("--out") + 1]
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--from", str(sample_run_dir), "--out", out, "--quiet"]) == 0  # what `run --out` does
    publish = next(s for s in steps() if "junit" in s.get("uses", ""))
    found = list(Path().glob(publish["with"]["report_paths"]))
    assert found and all(f.name == "junit.xml" for f in found)
    upload = next(s for s in steps() if s.get("uses", "").startswith("actions/upload-artifact"))
    assert f"{out}/" in upload["with"]["path"].split()
