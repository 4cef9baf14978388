"""Which RuntimeClasses verify_workload_sandboxing treats as sandboxes (plugins/filter/sandboxing.py)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from unit_fixtures import load_filter_plugin

DEFAULT_HANDLERS = ["runsc", "gvisor", "kata", "kata-*", "kata_*"]  # the role's default


@pytest.fixture(scope="module")
def sb() -> ModuleType:
    return load_filter_plugin("sandboxing")


def rc(name: str, handler: str, **more: Any) -> dict[str, Any]:
    return {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name}, "handler": handler, **more}


# The lab's RuntimeClasses (gvisor -> runsc, and the plain runc one), and kata ones as the Kata operator names them.
CLASSES = [rc("runc", "runc"), rc("kata-qemu", "kata-qemu", scheduling={"nodeSelector": {"katacontainers.io/kata-runtime": "true"}}),
           rc("gvisor", "runsc", overhead={"podFixed": {"memory": "40Mi"}}), rc("kata-fc", "kata_fc"), rc("katalike", "kataX")]  # fmt: skip


def test_sandboxes_are_found_by_handler_sorted_by_name(sb: ModuleType) -> None:
    found = sb.sandbox_runtime_classes(CLASSES, [], DEFAULT_HANDLERS)
    assert [c["name"] for c in found] == ["gvisor", "kata-fc", "kata-qemu"]  # not runc, not kataX
    assert found[0] == {"name": "gvisor", "handler": "runsc", "scheduling": {}, "overhead": {"podFixed": {"memory": "40Mi"}}}


def test_named_classes_win_over_handlers(sb: ModuleType) -> None:
    assert [c["name"] for c in sb.sandbox_runtime_classes(CLASSES, ["runc"], DEFAULT_HANDLERS)] == ["runc"]
    assert sb.sandbox_runtime_classes(CLASSES, ["missing"], DEFAULT_HANDLERS) == []


def test_handler_patterns_are_not_regular_expressions(sb: ModuleType) -> None:
    assert sb.sandbox_runtime_classes(CLASSES, [], ["kata.*"]) == []  # '.' is literal, only '*' is a wildcard
    assert len(sb.sandbox_runtime_classes(CLASSES, [], ["*"])) == len(CLASSES)


def test_no_runtime_class_no_sandbox(sb: ModuleType) -> None:
    assert sb.sandbox_runtime_classes([], [], DEFAULT_HANDLERS) == []
    assert sb.sandbox_runtime_classes([rc("runc", "runc")], [], DEFAULT_HANDLERS) == []
