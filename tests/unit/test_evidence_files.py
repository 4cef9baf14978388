"""Evidence files of the verify roles (module_utils/evidence_files.py): redaction, rendering, paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from unit_fixtures import load_plugin

ev = load_plugin("module_utils", "evidence_files")


class Tagged(str):
    """Stands for Ansible's templated string types, which yaml.safe_dump refuses."""


class TaggedInt(int):
    pass


def test_redact_secrets_tokens_and_bearer_strings() -> None:
    value = {
        "kind": "Secret", "data": {"token": "c2VjcmV0"}, "stringData": {"x": "y"},
        "metadata": {"name": "s", "annotations": {"client-key": "abc", "note": "Authorization: Bearer eyJhbGciOi.xyz"}},
        "spec": {"password": "hunter2", "passwordRef": {"name": "kept"}},
    }  # fmt: skip
    out = ev.redact(value)
    assert out["data"] == out["stringData"] == ev.REDACTED
    assert out["metadata"]["annotations"]["client-key"] == ev.REDACTED
    assert out["metadata"]["annotations"]["note"] == f"Authorization: Bearer {ev.REDACTED}"
    assert out["spec"]["password"] == ev.REDACTED
    assert out["spec"]["passwordRef"] == {"name": "kept"}  # a mapping is searched, not dropped
    assert value["spec"]["password"] == "hunter2"  # the input is not changed


def test_render_writes_what_the_module_would_have_received_through_json() -> None:
    value = {Tagged("node"): Tagged("gpu-0"), 1: (TaggedInt(2), True, None, 1.5), "s": [Tagged("a")]}
    assert ev.render(value) == ev.render(json.loads(json.dumps(value)))
    assert ev.render(value) == "node: gpu-0\n'1':\n- 2\n- true\n- null\n- 1.5\ns:\n- a\n"
    assert ev.render(Tagged("text")) == "text\n"


def test_notebook_section_lists_command_output_and_checks() -> None:
    text = ev.section("Title", "kubectl get nodes", {"n": 2}, [
        {"name": "c1", "status": "pass", "expected": 2, "observed": 2},
        {"name": "c2", "status": "skip"},
    ])  # fmt: skip
    assert text == (
        "## Title\n\nEquivalent: `kubectl get nodes`\n\n```\nn: 2\n```\n\n"
        "- ✓ c1 (pass): expected 2, observed 2\n- - c2 (skip)\n\n"
    )


def test_place_writes_under_the_requirement_and_returns_run_relative_paths(tmp_path: Path) -> None:
    place = ev.Place(str(tmp_path / "run" / "evidence"), "dra_support")
    assert place.save("slices.yaml", [{"a": 1}]) == "evidence/dra_support/slices.yaml"
    assert (tmp_path / "run/evidence/dra_support/slices.yaml").read_text() == "- a: 1\n"
    assert place.note("One", None, None, []) == "evidence/dra_support/output.md"
    place.note("Two", None, "out", [])
    notebook = (tmp_path / "run/evidence/dra_support/output.md").read_text()
    assert notebook == "# dra_support: lab notebook\n\n## One\n\n## Two\n\n```\nout\n```\n\n"


def test_place_in_check_mode_writes_nothing(tmp_path: Path) -> None:
    place = ev.Place(str(tmp_path / "evidence"), "dra_support")
    assert place.save("x.yaml", {"a": 1}, write=False) == "evidence/dra_support/x.yaml"
    assert place.note("t", None, None, [], write=False) == "evidence/dra_support/output.md"
    assert not (tmp_path / "evidence").exists()


@pytest.mark.parametrize("requirement, name", [("Bad-Id", "x"), ("", "x"), ("dra_support", "../gpu_sharing/x"),
                                               ("dra_support", "/etc/passwd")])  # fmt: skip
def test_place_refuses_to_write_elsewhere(tmp_path: Path, requirement: str, name: str) -> None:
    with pytest.raises(ev.EvidenceError):
        ev.Place(str(tmp_path), requirement).save(name, "x")
    assert list(tmp_path.iterdir()) == []


def test_a_long_list_keeps_its_first_objects_and_says_how_many_there_were(tmp_path: Path) -> None:
    import yaml

    place = ev.Place(str(tmp_path / "evidence"), "dra_support")
    slices = [{"metadata": {"name": f"sim-gpu-{i}-gpu.nvidia.com"}} for i in range(500)]
    rel = place.save("resourceslices.yaml", slices, max_objects=100)
    text = (tmp_path / rel).read_text()
    assert text.startswith("# 100 of 500 objects kept")
    kept = yaml.safe_load(text)
    assert [s["metadata"]["name"] for s in kept] == [s["metadata"]["name"] for s in slices[:100]]
    place.save("all.yaml", slices, max_objects=0)
    place.save("few.yaml", slices[:100], max_objects=100)
    assert len(yaml.safe_load((tmp_path / "evidence" / "dra_support" / "all.yaml").read_text())) == 500
    assert not (tmp_path / "evidence" / "dra_support" / "few.yaml").read_text().startswith("#")


def _args(tmp_path: Path, **kw: object) -> dict[str, object]:
    base: dict[str, object] = {"evidence_dir": str(tmp_path / "run" / "evidence"), "requirement": "gang_scheduling",
                               "state": "written", "file": None, "data": None, "files": [], "title": None,
                               "command": None, "output": None, "checks": [], "step": None, "facts": None,
                               "max_objects": 100}  # fmt: skip
    base.update(kw)
    return base


def test_a_step_writes_its_files_then_its_section_and_returns_its_facts(tmp_path: Path) -> None:
    check = {"name": "admitted", "status": "pass"}
    step = {"title": "Admission", "command": "kubectl get workloads", "output": {"a": 1}, "checks": [check],
            "files": [{"name": "wl.yaml", "data": [{"x": 1}, {"x": 2}], "max_objects": 1}], "facts": {"admitted": True}}  # fmt: skip
    out = ev.perform(_args(tmp_path, step=step), write=True)
    assert out["paths"] == ["evidence/gang_scheduling/wl.yaml", "evidence/gang_scheduling/output.md"]
    assert out["path"] == "evidence/gang_scheduling/output.md"
    assert out["facts"] == {"admitted": True} and out["checks"] == [check]
    assert (tmp_path / "run/evidence/gang_scheduling/wl.yaml").read_text().startswith("# 1 of 2 objects kept")
    assert "## Admission" in (tmp_path / "run/evidence/gang_scheduling/output.md").read_text()


def test_a_step_refuses_unknown_keys_and_a_key_given_twice(tmp_path: Path) -> None:
    with pytest.raises(ev.EvidenceError, match="unknown keys bogus"):
        ev.perform(_args(tmp_path, step={"title": "t", "bogus": 1}), write=False)
    with pytest.raises(ev.EvidenceError, match="'title' is given both"):
        ev.perform(_args(tmp_path, title="t", step={"title": "u"}), write=False)
    with pytest.raises(ev.EvidenceError, match="one of file, files, title or step"):
        ev.perform(_args(tmp_path), write=False)
    with pytest.raises(ev.EvidenceError, match="files item #1 needs a name and data"):
        ev.perform(_args(tmp_path, files=[{"name": "x"}]), write=False)


def test_the_ledger_collects_an_opened_roles_steps_in_order_once(tmp_path: Path) -> None:
    a, b = {"name": "a", "status": "pass"}, {"name": "b", "status": "fail"}
    ev.perform(_args(tmp_path, title="before the ledger", checks=[a]), write=True)  # not opened: not noted
    ev.perform(_args(tmp_path, state="opened"), write=True)
    ev.perform(_args(tmp_path, file="x.yaml", data={"k": 1}), write=True)
    ev.perform(_args(tmp_path, title="One", checks=[a]), write=True)
    ev.perform(_args(tmp_path, title="Two", checks=[b]), write=True)
    ledger = tmp_path / "run" / "steps" / "gang_scheduling.jsonl"
    assert ledger.is_file() and not (tmp_path / "run/evidence/steps").exists()  # never in the bundle
    out = ev.perform(_args(tmp_path, state="collected"), write=True)
    assert out["checks"] == [a, b]
    assert out["evidence"] == ["evidence/gang_scheduling/x.yaml", "evidence/gang_scheduling/output.md"]
    assert not ledger.exists() and not ledger.parent.exists()
    again = ev.perform(_args(tmp_path, state="collected"), write=True)  # a rescue after emit: nothing twice
    assert again["checks"] == [] and again["evidence"] == []


def test_opening_the_ledger_again_forgets_an_earlier_runs_steps(tmp_path: Path) -> None:
    ev.perform(_args(tmp_path, state="opened"), write=True)
    ev.perform(_args(tmp_path, title="stale", checks=[{"name": "old", "status": "pass"}]), write=True)
    ev.perform(_args(tmp_path, state="opened"), write=True)
    ev.perform(_args(tmp_path, title="fresh", checks=[{"name": "new", "status": "pass"}]), write=False)
    assert [c["name"] for c in ev.perform(_args(tmp_path, state="collected"), write=True)["checks"]] == ["new"]


def test_saved_objects_lose_their_managed_fields_only(tmp_path: Path) -> None:
    pod = {"metadata": {"name": "p", "managedFields": [{"manager": "kubelet"}]},
           "spec": {"managedFields": ["a field of that name elsewhere is data"]}}  # fmt: skip
    assert ev.render([pod]) == "- metadata:\n    name: p\n  spec:\n    managedFields:\n    - a field of that name elsewhere is data\n"
    assert pod["metadata"]["managedFields"] == [{"manager": "kubelet"}]  # the input is not changed


def test_a_list_a_filter_already_capped_writes_the_same_file(tmp_path: Path) -> None:
    objs = [{"i": i} for i in range(5)]
    place = ev.Place(str(tmp_path / "run" / "evidence"), "dra_support")
    place.save("whole.yaml", objs, max_objects=2)
    place.save("capped.yaml", objs[:2], max_objects=2, total=5)
    whole = (tmp_path / "run/evidence/dra_support/whole.yaml").read_text()
    assert whole.startswith("# 2 of 5 objects kept") and "i: 2" not in whole
    assert (tmp_path / "run/evidence/dra_support/capped.yaml").read_text() == whole
    place.save("short.yaml", objs[:2], max_objects=100, total=2)
    assert (tmp_path / "run/evidence/dra_support/short.yaml").read_text() == "- i: 0\n- i: 1\n"
