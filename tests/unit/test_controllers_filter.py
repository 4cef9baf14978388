"""The judged steps of verify_robust_controller (plugins/filter/controllers.py), on objects recorded
from the lab (tests/unit/data/controllers/README.md)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from unit_fixtures import load_filter_plugin

DATA = Path(__file__).parent / "data" / "controllers"
SOURCES = {"lab_record": "/state/components/kuberay-operator.json", "operator_namespace": "ray-system",
           "operator_deployment": "kuberay-operator", "crds": ["rayclusters.ray.io", "rayjobs.ray.io"],
           "namespace": "harness-ray-x", "workers": 2, "reconcile_timeout": "180"}  # fmt: skip


@pytest.fixture(scope="module")
def rc() -> ModuleType:
    return load_filter_plugin("controllers")


@pytest.fixture(scope="module")
def observed() -> dict[str, Any]:
    return dict(yaml.safe_load((DATA / "raycluster-observed.yaml").read_text("utf-8")))


def test_a_live_operator_whose_health_answers_runs(rc: ModuleType) -> None:
    record = {"pid": 4242, "health_url": "http://127.0.0.1:18083/readyz"}
    step = rc.robust_controller_operator_step(
        {"mode": "lab-record", "record": record, "alive": True, "health": {"status": 200}}, SOURCES)
    (check,) = step["checks"]
    assert check["status"] == "pass" and step["facts"] == {"running": True}
    assert check["observed"] == "pid 4242 alive, http://127.0.0.1:18083/readyz answered 200"
    assert step["command"] == "cat /state/components/kuberay-operator.json; curl -s http://127.0.0.1:18083/readyz"


@pytest.mark.parametrize(("record", "alive", "health", "observed"), [
    ({}, False, {}, "no component record at /state/components/kuberay-operator.json (the operator is not running)"),
    ({"pid": 7, "health_url": "http://h/readyz"}, False, {"status": -1}, "pid 7 gone, http://h/readyz answered -1"),
    ({"pid": 7, "health_url": "http://h/readyz"}, True, {"status": 503}, "pid 7 alive, http://h/readyz answered 503"),
    ({"pid": 7}, True, {"skipped": True}, "pid 7 alive, no health URL answered nothing"),
])  # fmt: skip
def test_a_missing_dead_or_unhealthy_operator_fails(rc: ModuleType, record: Any, alive: bool, health: Any, observed: str) -> None:
    step = rc.robust_controller_operator_step({"mode": "lab-record", "record": record, "alive": alive, "health": health}, SOURCES)
    assert step["checks"][0]["status"] == "fail" and step["checks"][0]["observed"] == observed


def test_the_operator_deployment_must_be_available(rc: ModuleType) -> None:
    deploy = {"spec": {"replicas": 1}, "status": {"readyReplicas": 1, "conditions": [{"type": "Available", "status": "True"}]}}
    ok = rc.robust_controller_operator_step({"mode": "deployment", "deployment": {"resources": [deploy]}}, SOURCES)
    assert ok["checks"][0]["status"] == "pass" and ok["checks"][0]["observed"] == "readyReplicas 1 of 1"
    down = copy.deepcopy(deploy)
    down["status"] = {"conditions": [{"type": "Available", "status": "False"}]}
    assert rc.robust_controller_operator_step({"mode": "deployment", "deployment": {"resources": [down]}}, SOURCES)["checks"][0]["status"] == "fail"
    gone = rc.robust_controller_operator_step({"mode": "deployment", "deployment": {"resources": []}}, SOURCES)
    assert gone["checks"][0]["observed"] == "Deployment ray-system/kuberay-operator not found"


def test_crds_pass_only_when_every_one_is_established(rc: ModuleType) -> None:
    def read(name: str, status: str | None) -> dict[str, Any]:
        conds = [] if status is None else [{"type": "Established", "status": status}]
        return {"resources": [{"metadata": {"name": name}, "status": {"conditions": conds}}]}
    ok = rc.robust_controller_crds_step({"results": [read("rayclusters.ray.io", "True"), read("rayjobs.ray.io", "True")]}, SOURCES)
    assert ok["checks"][0]["status"] == "pass"
    assert ok["checks"][0]["observed"] == "Established: rayclusters.ray.io, rayjobs.ray.io"
    missing = rc.robust_controller_crds_step({"results": [read("rayclusters.ray.io", "True"), {"resources": []}]}, SOURCES)
    assert missing["checks"][0]["status"] == "fail" and missing["facts"]["established"] == ["rayclusters.ray.io"]
    none = rc.robust_controller_crds_step({"results": [read("rayclusters.ray.io", "False")]}, SOURCES)
    assert none["checks"][0]["observed"] == "Established: none"


def test_the_recorded_webhook_denial_passes(rc: ModuleType) -> None:
    sent = json.loads((DATA / "webhook-denied.json").read_text("utf-8"))
    step = rc.robust_controller_webhook_step(sent, {"kind": "RayCluster"})
    (check,) = step["checks"]
    assert check["status"] == "pass" and check["message"] == ""
    assert check["observed"].startswith("refused: Failed to create object:") and check["observed"].endswith("...")
    assert len(check["observed"]) <= len("refused: ") + 500
    assert step["files"] == [{"name": "raycluster-invalid.yaml", "data": {"kind": "RayCluster"}}]


@pytest.mark.parametrize(("sent", "message"), [
    ({"changed": True}, "no admission webhook denied the invalid object"),
    ({"failed": True, "msg": 'Internal error: failed calling webhook "vraycluster.kb.io": connection refused'},
     "the webhook could not be called, so it is not operational"),
    ({"failed": True, "msg": "spec.workerGroupSpecs: Invalid value"}, "no admission webhook denied the invalid object"),
])  # fmt: skip
def test_an_accepted_object_or_an_unreachable_webhook_fails(rc: ModuleType, sent: dict[str, Any], message: str) -> None:
    (check,) = rc.robust_controller_webhook_step(sent, {})["checks"]
    assert check["status"] == "fail" and check["message"] == message


def test_the_recorded_reconciled_cluster_passes(rc: ModuleType, observed: dict[str, Any]) -> None:
    step = rc.robust_controller_reconcile_step({"valid": {"kind": "RayCluster"}, "created": {"changed": True},
                                                "pods": {"resources": observed["pods"]},
                                                "cluster": {"resources": [observed["raycluster"]]}}, SOURCES)  # fmt: skip
    assert [c["status"] for c in step["checks"]] == ["pass", "pass"]
    assert step["checks"][0]["observed"] == "running pods: head, worker, worker"
    assert step["output"]["state"] == "ready" and step["output"]["conditions"]["HeadPodReady"] == "True"
    assert [f["name"] for f in step["files"]] == ["raycluster-valid.yaml", "raycluster-observed.yaml"]


def test_a_missing_worker_or_an_unready_cluster_fails(rc: ModuleType, observed: dict[str, Any]) -> None:
    pods = copy.deepcopy(observed["pods"])
    worker = next(p for p in pods if p["metadata"]["labels"]["ray.io/node-type"] == "worker")
    worker["status"]["phase"] = "Pending"
    cluster = copy.deepcopy(observed["raycluster"])
    cluster["status"]["state"] = "suspended"
    step = rc.robust_controller_reconcile_step({"created": {}, "pods": {"resources": pods}, "cluster": {"resources": [cluster]}}, SOURCES)
    assert [c["status"] for c in step["checks"]] == ["fail", "fail"]
    assert step["checks"][0]["observed"] == "running pods: head, worker"
    assert step["checks"][1]["observed"] == "status.state suspended"


def test_a_refused_cluster_says_so(rc: ModuleType) -> None:
    step = rc.robust_controller_reconcile_step({"created": {"failed": True, "msg": "forbidden"}, "pods": {"skipped": True},
                                                "cluster": {"skipped": True}}, SOURCES)  # fmt: skip
    assert step["checks"][0]["observed"] == "RayCluster not created: forbidden"
    assert step["checks"][1]["observed"] == "RayCluster not created"
    assert step["output"]["running_pods"] == [] and step["files"][1]["data"] == {"raycluster": {}, "pods": []}
