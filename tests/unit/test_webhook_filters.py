"""The filters that point upstream webhook manifests at a local webhook server."""

from __future__ import annotations

from typing import Any

import pytest

from unit_fixtures import load_filter_plugin

F = load_filter_plugin("webhooks")


def _hook(name: str, group: str, resource: str, path: str) -> dict[str, Any]:
    return {"name": name, "admissionReviewVersions": ["v1"], "failurePolicy": "Fail", "sideEffects": "None",
            "clientConfig": {"service": {"name": "webhook-service", "namespace": "system", "path": path}},
            "rules": [{"apiGroups": [group], "apiVersions": ["v1"], "operations": ["CREATE"],
                       "resources": [resource]}]}


UPSTREAM: dict[str, Any] = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "MutatingWebhookConfiguration",
    "metadata": {"name": "mutating-webhook-configuration"},
    "webhooks": [
        _hook("mjob.kb.io", "batch", "jobs", "/mutate-batch-v1-job"),
        _hook("mpod.kb.io", "", "pods", "/mutate--v1-pod"),
        _hook("mworkload.kb.io", "kueue.x-k8s.io", "workloads", "/mutate-workload"),
    ],
}

SERVICE = {"name": "kueue-webhook-service", "namespace": "kueue-system", "port": "19443"}


def test_service_rewire_renames_filters_and_keeps_paths() -> None:
    out = F.webhook_rewire(UPSTREAM, "kueue-mutating-webhook-configuration", service=SERVICE,
                           keep=["kueue.x-k8s.io/*", "batch/jobs"],
                           exclude_namespaces=["kube-system", "kueue-system"], own_groups=["kueue.x-k8s.io"])
    assert out["metadata"] == {"name": "kueue-mutating-webhook-configuration"}
    assert [h["name"] for h in out["webhooks"]] == ["mjob.kb.io", "mworkload.kb.io"]
    job, workload = out["webhooks"]
    assert job["clientConfig"] == {"service": {"name": "kueue-webhook-service", "namespace": "kueue-system",
                                               "port": 19443, "path": "/mutate-batch-v1-job"}}
    assert job["namespaceSelector"]["matchExpressions"][0]["values"] == ["kube-system", "kueue-system"]
    # the controller's own kinds are not limited to some namespaces
    assert "namespaceSelector" not in workload
    # the input is left alone
    assert UPSTREAM["webhooks"][0]["clientConfig"]["service"]["name"] == "webhook-service"


def test_core_group_resource_is_matched() -> None:
    out = F.webhook_rewire(UPSTREAM, "x", service=SERVICE, keep=["/pods"])
    assert [h["name"] for h in out["webhooks"]] == ["mpod.kb.io"]


def test_url_rewire_sets_ca_bundle() -> None:
    out = F.webhook_rewire(UPSTREAM, "x", url="https://127.0.0.1:9443/", ca_bundle="Q0E=", keep=["batch/jobs"])
    assert out["webhooks"][0]["clientConfig"] == {"url": "https://127.0.0.1:9443/mutate-batch-v1-job",
                                                  "caBundle": "Q0E="}


def test_rewire_needs_exactly_one_target() -> None:
    with pytest.raises(Exception, match="exactly one"):
        F.webhook_rewire(UPSTREAM, "x")
    with pytest.raises(Exception, match="exactly one"):
        F.webhook_rewire(UPSTREAM, "x", service=SERVICE, url="https://127.0.0.1:1")


def test_rewire_rejects_other_kinds() -> None:
    with pytest.raises(Exception, match="not a webhook configuration"):
        F.webhook_rewire({"kind": "Service"}, "x", service=SERVICE)


def test_crd_conversion_only_for_patched_crds() -> None:
    patch = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
             "metadata": {"name": "workloads.kueue.x-k8s.io"},
             "spec": {"conversion": {"strategy": "Webhook", "webhook": {
                 "clientConfig": {"service": {"namespace": "system", "name": "webhook-service", "path": "/convert"}},
                 "conversionReviewVersions": ["v1"]}}}}
    crd = {"metadata": {"name": "workloads.kueue.x-k8s.io"}, "spec": {"group": "kueue.x-k8s.io"}}
    other = {"metadata": {"name": "topologies.kueue.x-k8s.io"}, "spec": {"group": "kueue.x-k8s.io"}}
    out = F.crd_conversion(crd, [patch], service=SERVICE)
    assert out["spec"]["group"] == "kueue.x-k8s.io"
    assert out["spec"]["conversion"] == {"strategy": "Webhook", "webhook": {
        "clientConfig": {"service": {"name": "kueue-webhook-service", "namespace": "kueue-system",
                                     "port": 19443, "path": "/convert"}},
        "conversionReviewVersions": ["v1"]}}
    assert F.crd_conversion(other, [patch], service=SERVICE) == other


def test_filter_module_exposes_both() -> None:
    assert set(F.FilterModule().filters()) == {"webhook_rewire", "crd_conversion"}
