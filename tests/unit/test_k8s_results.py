"""Reading registered kubernetes results for the judging filters (plugins/module_utils/k8s_results.py)."""

from __future__ import annotations

from types import ModuleType

import pytest
from jinja2 import Environment

from unit_fixtures import load_plugin


@pytest.fixture(scope="module")
def kr() -> ModuleType:
    return load_plugin("module_utils", "k8s_results")


LOOP = {"results": [
    {"item": {"kind": "Node"}, "resources": [{"metadata": {"name": "n1"}}]},
    {"item": {"kind": "ResourceSlice"}, "skipped": True},
]}  # fmt: skip


def test_reads_of_a_loop_by_kind_and_of_one_task(kr: ModuleType) -> None:
    assert kr.read_resources(LOOP, "Node") == [{"metadata": {"name": "n1"}}]
    assert kr.read_resources(LOOP, "ResourceSlice") == [] and kr.read_resources(LOOP, "Pod") == []
    assert kr.first(LOOP["results"][0]) == {"metadata": {"name": "n1"}}
    assert kr.first({"failed": True, "msg": "x"}) == {} and kr.resources(None) == []


@pytest.mark.parametrize("text", ["short", "a " * 300, "b" * 503, "b" * 506, "word " * 120, ""])
def test_truncate_is_jinjas(kr: ModuleType, text: str) -> None:
    assert kr.jinja_truncate(text, 500) == Environment().from_string("{{ t | truncate(500) }}").render(t=text)


def test_plain_data_is_already_stored(kr: ModuleType) -> None:
    assert kr.stored(LOOP) is LOOP


def test_an_evidence_file_entry_carries_only_what_the_file_keeps(kr: ModuleType) -> None:
    assert kr.evidence_file("a.yaml", [1, 2]) == {"name": "a.yaml", "data": [1, 2]}
    assert kr.evidence_file("a.yaml", list(range(150))) == {"name": "a.yaml", "data": list(range(100)), "total": 150}
