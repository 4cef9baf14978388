"""The result_record filter behind harness.conformance.emit."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from unit_fixtures import load_filter_plugin

from harness.results import RoleReport



@pytest.fixture(scope="module")
def plugin() -> ModuleType:
    return load_filter_plugin("results")


def test_record_is_normalised(plugin: Any) -> None:
    rec = plugin.result_record(
        "dra_support",
        checks=[{"name": "slices", "status": "PASS", "expected": ">= 1", "observed": 2},
                {"name": "hw", "status": "skip", "observed": {"gpus": 0}, "needs_hardware": True, "required": "no"}],
        evidence=["/runs/r1/evidence/a.txt", "evidence/b.txt", "/elsewhere/c.txt", "evidence/b.txt"],
        run_dir="/runs/r1", started="2026-01-01T00:00:00Z", finished="2026-01-01T00:00:07Z",
    )  # fmt: skip
    assert rec["checks"][0] == {"name": "slices", "status": "pass", "expected": ">= 1", "observed": "2",
                                "message": "", "required": True, "needs_hardware": False, "duration_s": None}  # fmt: skip
    assert rec["checks"][1]["observed"] == '{"gpus": 0}' and rec["checks"][1]["required"] is False
    assert rec["needs_hardware"] is True
    assert rec["evidence"] == ["evidence/a.txt", "evidence/b.txt", "/elsewhere/c.txt"]
    assert rec["duration_s"] == 7.0
    # What the filter makes is exactly what the Python side reads.
    report = RoleReport.from_dict("dra_support", rec)
    assert [c.status.value for c in report.checks] == ["pass", "skip"]


@pytest.mark.parametrize(
    "checks", [[{"status": "pass"}], [{"name": "x", "status": "ok"}], ["not a mapping"], "not a list"]
)
def test_bad_checks_are_refused(plugin: Any, checks: Any) -> None:
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError):
        plugin.result_record("dra_support", checks=checks)


def test_finished_defaults_to_now(plugin: Any) -> None:
    rec = plugin.result_record("dra_support", started="2020-01-01T00:00:00Z")
    assert rec["finished"].endswith("Z") and rec["duration_s"] > 0
