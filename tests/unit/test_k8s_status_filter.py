"""The Kubernetes status-condition filters verify roles use (harness.conformance.condition & co.)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from unit_fixtures import load_filter_plugin


GATEWAY: dict[str, Any] = {"status": {"conditions": [
    {"type": "Accepted", "status": "True", "reason": "Accepted"},
    {"type": "Programmed", "status": "False", "reason": "Pending", "message": "no address"}]}}
ROUTE: dict[str, Any] = {"status": {"parents": [
    {"parentRef": {"name": "other"}, "conditions": [{"type": "Accepted", "status": "False", "reason": "NotAllowed"}]},
    {"parentRef": {"name": "gw"}, "conditions": [
        {"type": "Accepted", "status": "True", "reason": "Accepted"},
        {"type": "ResolvedRefs", "status": "False", "reason": "InvalidKind", "message": "unsupported"}]}]}}


@pytest.fixture(scope="module")
def plugin() -> ModuleType:
    return load_filter_plugin("k8s_status")


def test_condition_reads_one_status_and_tolerates_missing_objects(plugin: ModuleType) -> None:
    assert plugin.condition(GATEWAY, "Programmed") == "False"
    assert plugin.condition(GATEWAY, "Ready") == ""
    assert plugin.condition({}, "Accepted") == "" and plugin.condition(None, "Accepted") == ""


def test_with_condition_keeps_only_matching_objects(plugin: ModuleType) -> None:
    objs = [GATEWAY, {"metadata": {"name": "bare"}}]
    assert plugin.with_condition(objs, "Accepted") == [GATEWAY]
    assert plugin.with_condition(objs, "Programmed", "False") == [GATEWAY]
    assert plugin.with_condition(objs, "Programmed") == []


def test_parent_conditions_pick_the_named_parent(plugin: ModuleType) -> None:
    assert plugin.parent_conditions(ROUTE, "gw") == {"Accepted": "True", "ResolvedRefs": "False"}
    assert plugin.parent_conditions(ROUTE, "missing") == {}
    assert plugin.parent_conditions(ROUTE) == {"Accepted": "False"}  # any parent: the first
    assert plugin.parent_reasons(ROUTE, "gw")["ResolvedRefs"] == "False (InvalidKind): unsupported"
    assert plugin.parent_reasons(ROUTE, "gw")["Accepted"] == "True (Accepted)"


def test_condition_summary(plugin: ModuleType) -> None:
    assert plugin.condition_summary(GATEWAY) == "Accepted=True (Accepted), Programmed=False (Pending)"
    assert plugin.condition_summary({}) == ""
