"""A real ansible-runner run, its output not a terminal (as `harness up | tee` or a CI log): a line per
finished task, with the status and duration that ansible-runner's events really carry."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from harness.progress import Progress
from harness.runner import make_run_dir, run_playbook

pytestmark = pytest.mark.integration

PLAYBOOK = """\
- name: Lab up | a small lab
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Small | Change something
      ansible.builtin.command: "true"
    - name: Small | Look only
      ansible.builtin.debug:
        msg: fine
    - name: Small | Not needed here
      ansible.builtin.debug:
        msg: never
      when: false
    - name: Small | Sleep a little
      ansible.builtin.command: sleep 1
      changed_when: false
"""


LINE = re.compile(r"^\s*\d+\.\ds  (?P<status>\w+)\s+(?P<task>.+?)(?: \((?P<took>\d+\.\d)s\))?$")


def test_piped_playbook_prints_a_line_per_finished_task(tmp_path: Path) -> None:
    pb = tmp_path / "small.yml"
    pb.write_text(PLAYBOOK)
    out = io.StringIO()
    run_dir = make_run_dir(tmp_path / "runs", "run-up")
    with Progress("live", title="harness up: small", stream=out, task_lines=True) as progress:
        outcome = run_playbook(pb, None, run_dir, {}, on_event=progress, ident="up", timeout=120)
    assert outcome.ok, outcome.log.read_text()
    lines = out.getvalue().splitlines()
    assert lines[0] == "harness up: small" and lines[1].endswith("play: Lab up | a small lab")
    tasks = [LINE.match(line) for line in lines[2:]]
    assert all(tasks), lines
    assert [(m.group("status"), m.group("task")) for m in tasks if m] == [
        ("changed", "Small | Change something"),
        ("ok", "Small | Look only"),
        ("skipped", "Small | Not needed here"),
        ("ok", "Small | Sleep a little"),
    ]
    slept = tasks[-1]
    assert slept is not None and 0.9 <= float(slept.group("took")) < 10
