"""harness.conformance.crds: reading CRD files, spec overrides, what makes a CRD "unchanged" (its digest) and "ready".

The module's apply and wait run against the lab's API server in every `harness up`
(tests/lab/test_sim_lab.py::test_up_twice_changes_nothing shows the second up sends nothing)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from unit_fixtures import load_plugin


@pytest.fixture(scope="module")
def crds() -> ModuleType:
    return load_plugin("modules", "crds")


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


def test_read_crds_takes_every_document_of_every_file_in_order(crds: ModuleType, tmp_path: Any) -> None:
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text("# a licence header\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
                   "metadata: {name: a.example.dev}\n---\n")  # fmt: skip
    two.write_text("kind: CustomResourceDefinition\nmetadata: {name: b.example.dev}\n---\n"
                   "kind: CustomResourceDefinition\nmetadata: {name: c.example.dev}\n")  # fmt: skip
    assert [d["metadata"]["name"] for d in crds.read_crds([str(one), str(two)])] == [
        "a.example.dev", "b.example.dev", "c.example.dev"]


def test_spec_overrides_replace_keys_of_the_named_crd_only(crds: ModuleType) -> None:
    conversion = {"strategy": "Webhook", "webhook": {"clientConfig": {"url": "https://127.0.0.1:9443/convert"}}}
    override = {"metadata": {"name": "widgets.example.dev"}, "spec": {"conversion": conversion}}
    out = crds.overridden(crd(), [override])
    assert out["spec"]["conversion"] == conversion
    assert out["spec"]["scope"] == "Namespaced"  # the other keys stay
    assert "conversion" not in crd()["spec"]  # a new dict: the input is not modified
    other = {"metadata": {"name": "gadgets.example.dev"}, "spec": {"conversion": conversion}}
    assert crds.overridden(crd(), [other]) == crd()
