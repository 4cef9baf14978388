"""harness.conformance.crds: what makes a CRD "unchanged" (its digest) and "ready" (Established).

The module's apply and wait run against the lab's API server in every `harness up`
(tests/lab/test_sim_lab.py::test_up_twice_changes_nothing shows the second up sends nothing)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

MODULE = Path(__file__).resolve().parents[2] / "collections/ansible_collections/harness/conformance/plugins/modules/crds.py"


@pytest.fixture(scope="module")
def crds() -> ModuleType:
    spec = importlib.util.spec_from_file_location("harness_crds_module", MODULE)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def crd(**meta: Any) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.dev", **meta},
            "spec": {"group": "example.dev", "names": {"kind": "Widget", "plural": "widgets"}, "scope": "Namespaced"}}  # fmt: skip


def test_digest_ignores_key_order_and_its_own_stamp(crds: ModuleType) -> None:
    a = crd()
    b = {"spec": dict(reversed(list(a["spec"].items()))), "metadata": a["metadata"], "kind": a["kind"],
         "apiVersion": a["apiVersion"]}  # fmt: skip
    assert crds.digest(a) == crds.digest(b)
    sha = crds.digest(a)
    stamped = crds.stamped(a, sha)
    assert stamped["metadata"]["annotations"] == {crds.ANNOTATION: sha}
    assert crds.digest(stamped) == sha  # the live object, read back, has the same digest
    assert "annotations" not in a["metadata"]  # the input is not modified


def test_any_change_changes_the_digest(crds: ModuleType) -> None:
    base = crds.digest(crd())
    changed = crd()
    changed["spec"]["scope"] = "Cluster"
    assert crds.digest(changed) != base
    assert crds.digest(crd(annotations={"note": "x"})) != base
    assert crds.digest(crd(labels={"a": "b"})) != base


@pytest.mark.parametrize(("status", "ready"), [
    ({"conditions": [{"type": "NamesAccepted", "status": "True"}, {"type": "Established", "status": "True"}]}, True),
    ({"conditions": [{"type": "Established", "status": "False"}]}, False),
    ({}, False),
])  # fmt: skip
def test_established(crds: ModuleType, status: dict[str, Any], ready: bool) -> None:
    assert crds.established({**crd(), "status": status}) is ready
    assert crds.established(None) is False
