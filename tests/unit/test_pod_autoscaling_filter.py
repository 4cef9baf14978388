"""The judgement of verify_pod_autoscaling (plugins/filter/pod_autoscaling.py), on the APIServices, HPA,
Deployment and pods recorded from the simulated lab (data/pod_autoscaling/, see its README): healthy at
each step of a run (low load, scaled up, scaled back down), and broken the ways the lab tests break it or
a wait can time out (a metric the adapter does not serve, no custom metrics API, pods that do not run,
an HPA that has not scaled yet)."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
import pytest

from unit_fixtures import load_filter_plugin

DATA = Path(__file__).parent / "data" / "pod_autoscaling"
NS = "harness-hpa-20261203t121426z-13e91a"
SOURCES: dict[str, Any] = {
    "namespace": NS, "namespace_given": False, "api_versions": ["v1beta2", "v1beta1"],
    "metric_name": "DCGM_FI_DEV_GPU_UTIL", "target_average": "50", "min_replicas": 1, "gpu_resource": "nvidia.com/gpu",
}  # fmt: skip  (the role's defaults, as vars/main.yml gathers them)
UP = {"name": "up", "timeout": 240, "fragment": {}}
DOWN = {"name": "down", "timeout": 240, "fragment": {}}
HPA = "HorizontalPodAutoscaler"


@pytest.fixture(scope="module")
def pa() -> ModuleType:
    return load_filter_plugin("pod_autoscaling")


def recorded(name: str) -> Any:
    """A registered k8s_info result (or a loop's results) recorded from a lab run (see data/pod_autoscaling/README)."""
    return json.loads((DATA / f"{name}.json").read_text())


def apiservices(**conditions: dict[str, str]) -> list[dict[str, Any]]:
    """The looped APIService reads (v1beta2, v1beta1), a version's Available condition changed by kwargs."""
    results: list[dict[str, Any]] = recorded("apiservices")
    for r in results:
        r["resources"][0]["status"]["conditions"][0].update(conditions.get(r["item"], {}))
    return results


# --- the custom metrics API ---------------------------------------------------------------------------


def test_served_api(pa: ModuleType) -> None:
    step = pa.hpa_api_step(apiservices(), SOURCES)
    (check,) = step["checks"]
    assert step["title"] == "custom.metrics.k8s.io is served" and step["facts"] == {"served": True}
    assert check["status"] == "pass" and check["message"] == ""
    assert check["expected"] == "an APIService v1beta2.custom.metrics.k8s.io or v1beta1.custom.metrics.k8s.io Available"
    assert check["observed"] == "Available: v1beta2.custom.metrics.k8s.io, v1beta1.custom.metrics.k8s.io"
    assert step["output"] == ["v1beta2.custom.metrics.k8s.io Available=True all checks passed",
                              "v1beta1.custom.metrics.k8s.io Available=True all checks passed"]  # fmt: skip


def test_one_available_version_is_enough(pa: ModuleType) -> None:
    step = pa.hpa_api_step(apiservices(v1beta2={"status": "False", "message": "failing or missing response"}), SOURCES)
    assert step["checks"][0]["status"] == "pass"
    assert step["checks"][0]["observed"] == "Available: v1beta1.custom.metrics.k8s.io"


def test_unavailable_api_fails(pa: ModuleType) -> None:
    down = {"status": "False", "message": "failing or missing response"}
    step = pa.hpa_api_step(apiservices(v1beta2=down, v1beta1=down), SOURCES)
    (check,) = step["checks"]
    assert step["facts"] == {"served": False}
    assert check["status"] == "fail" and check["message"] == "custom metrics API not served"
    assert check["observed"] == ("none Available (v1beta2.custom.metrics.k8s.io Available=False failing or missing response; "
                                 "v1beta1.custom.metrics.k8s.io Available=False failing or missing response)")  # fmt: skip


def test_no_apiservice_registered_fails(pa: ModuleType) -> None:
    nothing = [{**r, "resources": []} for r in recorded("apiservices")]  # k8s_info finds no object of that name
    step = pa.hpa_api_step(nothing, SOURCES)
    assert step["checks"][0]["status"] == "fail"
    assert step["checks"][0]["observed"] == "none Available (no APIService registered)"
    assert step["output"] == []


# --- the Deployment at low load -------------------------------------------------------------------------


def test_deployment_at_low_load(pa: ModuleType) -> None:
    deploy = recorded("deployment-ready")
    assert pa.hpa_goal_met(deploy, "ready", SOURCES)
    step = pa.hpa_deployment_step(deploy, SOURCES)
    assert step["title"] == "A Deployment whose pods request a GPU runs at low load"
    assert step["facts"] == {"ready": True}
    assert step["command"] == f"kubectl get deployment -n {NS} harness-hpa"
    assert step["output"] == deploy["resources"][0]["status"]
    assert step["checks"] == [{"name": "GPU Deployment available", "status": "pass",
                               "expected": "1 ready pod(s), each with 1 nvidia.com/gpu", "observed": "1 ready"}]  # fmt: skip


def test_pods_that_do_not_run_are_an_error_not_a_fail(pa: ModuleType) -> None:
    deploy = recorded("deployment-ready")
    for key in ("readyReplicas", "availableReplicas"):
        deploy["resources"][0]["status"].pop(key)  # as while the pods are Pending (no GPU free)
    assert not pa.hpa_goal_met(deploy, "ready", SOURCES)
    step = pa.hpa_deployment_step(deploy, SOURCES)
    assert step["facts"] == {"ready": False}
    assert step["checks"][0]["status"] == "error" and step["checks"][0]["observed"] == "0 ready"
    assert step["checks"][0]["expected"] == "1 ready pod(s), each with 1 nvidia.com/gpu"


def test_deployment_never_read(pa: ModuleType) -> None:
    step = pa.hpa_deployment_step({**recorded("deployment-ready"), "resources": []}, SOURCES)
    assert step["checks"][0]["status"] == "error" and step["output"] == {}


# --- the HPA reads the metric ---------------------------------------------------------------------------


def test_hpa_reads_the_metric(pa: ModuleType) -> None:
    hpa = recorded("hpa-reading")
    assert pa.hpa_goal_met(hpa, "metric", SOURCES)
    step = pa.hpa_metric_step(hpa, SOURCES)
    (check,) = step["checks"]
    assert step["title"] == "The HPA reads DCGM_FI_DEV_GPU_UTIL from custom.metrics.k8s.io"
    assert step["command"] == (f'kubectl get --raw "/apis/custom.metrics.k8s.io/v1beta1/namespaces/{NS}/pods/*/DCGM_FI_DEV_GPU_UTIL"; '
                               f"kubectl describe hpa -n {NS} harness-hpa")  # fmt: skip
    assert step["output"] == hpa["resources"][0]["status"]
    assert step["facts"] == {"reading": True}
    assert check["status"] == "pass" and check["message"] == ""
    assert check["expected"] == "ScalingActive=True and a current value of DCGM_FI_DEV_GPU_UTIL per pod"
    assert check["observed"] == ("current average 10; ScalingActive: the HPA was able to successfully calculate "
                                 "a replica count from pods metric DCGM_FI_DEV_GPU_UTIL")  # fmt: skip


def test_hpa_just_created_is_not_read_yet(pa: ModuleType) -> None:
    hpa = recorded("hpa-created")  # the wait's first poll: the adapter has no sample of the new pod yet
    assert not pa.hpa_goal_met(hpa, "metric", SOURCES)
    assert pa.hpa_metric_step(hpa, SOURCES)["facts"] == {"reading": False}


def test_metric_the_adapter_does_not_serve(pa: ModuleType) -> None:
    hpa = recorded("hpa-no-metric")
    sources = {**SOURCES, "metric_name": "harness_no_such_metric"}
    assert not pa.hpa_goal_met(hpa, "metric", sources)
    step = pa.hpa_metric_step(hpa, sources)
    (check,) = step["checks"]
    assert step["facts"] == {"reading": False}
    assert check["status"] == "fail"
    assert check["message"] == "the custom metrics API does not serve harness_no_such_metric for the pods"
    assert check["observed"].startswith("current average none; ScalingActive: the HPA was unable to compute the replica count")
    assert "harness_no_such_metric" in check["observed"]


def test_hpa_without_status(pa: ModuleType) -> None:
    hpa = recorded("hpa-created")
    del hpa["resources"][0]["status"]
    step = pa.hpa_metric_step(hpa, SOURCES)
    assert step["checks"][0]["status"] == "fail" and step["output"] == {}
    assert step["checks"][0]["observed"] == "current average none; ScalingActive: no ScalingActive condition"


def test_long_controller_message_is_truncated_as_jinja_did(pa: ModuleType) -> None:
    env = jinja2.Environment()
    truncate = env.filters["truncate"]
    message = recorded("hpa-no-metric")["resources"][0]["status"]["conditions"][1]["message"]
    for text in (message, message * 2, "short", "word " * 80, "x" * 403, "x" * 406, "a b " * 120):
        assert pa._truncate(text, 400) == truncate(env, text, 400), text


def test_scaling_skipped_when_the_metric_is_not_read(pa: ModuleType) -> None:
    step = pa.hpa_scaling_skipped([UP, DOWN])
    reason = "not reached - the HPA cannot read the metric"
    assert step == {"title": "Scaling not tried", "checks": [
        {"name": "HPA scales up on a high metric", "status": "skip", "message": reason},
        {"name": "HPA scales down on a low metric", "status": "skip", "message": reason}]}  # fmt: skip


# --- the load phases -----------------------------------------------------------------------------------


def test_scale_up(pa: ModuleType) -> None:
    results = recorded("scale-up")
    assert pa.hpa_goal_met(results[0], "up", SOURCES, HPA)
    assert pa.hpa_goal_met(results[1], "up", SOURCES, "Deployment")
    assert pa.hpa_goal_met(results[2], "up", SOURCES, "Pod")  # the pods are read, not waited on
    step = pa.hpa_phase_step(results, UP, SOURCES, 15.63)
    (check,) = step["checks"]
    assert step["title"] == "Raising the load scales the Deployment up"
    assert step["command"] == f"kubectl get hpa -n {NS} harness-hpa; kubectl get pods -n {NS} -l app=harness-hpa"
    assert check["name"] == "HPA scales up on a high metric" and check["status"] == "pass"
    assert check["expected"] == "desiredReplicas > 1 and the new pods Running within 240s"
    assert check["observed"] == "desired 2, deployment 2 (2 ready, 2 running) after 15.6s; metric 90"
    assert step["output"] == {
        "current_metrics": [{"type": "Pods", "pods": {"metric": {"name": "DCGM_FI_DEV_GPU_UTIL"}, "current": {"averageValue": "90"}}}],
        "desired_replicas": 2, "deployment_replicas": 2, "ready_replicas": 2,
        "running_pods": ["harness-hpa-7b79c589d5-9xqbw", "harness-hpa-7b79c589d5-hbh7v"], "seconds": 15.6}  # fmt: skip
    assert step["facts"] == {"scaled": True}


def test_scale_up_saves_what_it_saw_without_managed_fields(pa: ModuleType) -> None:
    results = recorded("scale-up")
    assert "managedFields" in results[0]["resources"][0]["metadata"]
    (f,) = pa.hpa_phase_step(results, UP, SOURCES, 1.0)["files"]
    assert f["name"] == "scale-up-observed.yaml"
    assert list(f["data"]) == ["hpa", "deployment_status", "pods"]
    assert "managedFields" not in json.dumps(f["data"])
    assert f["data"]["deployment_status"] == results[1]["resources"][0]["status"]
    assert len(f["data"]["pods"]) == 2 and f["data"]["hpa"]["metadata"]["name"] == "harness-hpa"


def test_no_scale_up_while_the_hpa_still_wants_one_pod(pa: ModuleType) -> None:
    waiting = recorded("scale-up-waiting")  # the wait's first poll after the load was raised
    assert not pa.hpa_goal_met(waiting, "up", SOURCES, HPA)
    results = recorded("scale-up")
    check = pa.hpa_phase_step([waiting, *results[1:]], UP, SOURCES, 240.04)["checks"][0]
    assert check["status"] == "fail"
    assert check["observed"] == "desired 1, deployment 2 (2 ready, 2 running) after 240.0s; metric 10"


def test_scale_up_needs_the_new_pods_running(pa: ModuleType) -> None:
    results = recorded("scale-up")
    results[2]["resources"][-1]["status"]["phase"] = "Pending"
    results[1]["resources"][0]["status"]["readyReplicas"] = 1
    assert not pa.hpa_goal_met(results[1], "up", SOURCES, "Deployment")
    step = pa.hpa_phase_step(results, UP, SOURCES, 240.0)
    assert step["checks"][0]["status"] == "fail" and step["output"]["running_pods"] == ["harness-hpa-7b79c589d5-9xqbw"]


def test_scale_down(pa: ModuleType) -> None:
    results = recorded("scale-down")
    assert pa.hpa_goal_met(results[0], "down", SOURCES, HPA)
    assert pa.hpa_goal_met(results[1], "down", SOURCES, "Deployment")
    step = pa.hpa_phase_step(results, DOWN, SOURCES, 15.6)
    (check,) = step["checks"]
    assert step["title"] == "Lowering the load scales the Deployment back down"
    assert check["name"] == "HPA scales down on a low metric" and check["status"] == "pass"
    assert check["expected"] == "back to 1 replica(s) within 240s"
    assert check["observed"] == "desired 1, deployment 1 (1 ready, 1 running) after 15.6s; metric 10"
    assert step["output"]["running_pods"] == ["harness-hpa-75dd8fb4b5-ssm4l"]
    assert step["files"][0]["name"] == "scale-down-observed.yaml"


def test_no_scale_down_while_loaded(pa: ModuleType) -> None:
    results = recorded("scale-up")
    assert not pa.hpa_goal_met(results[0], "down", SOURCES, HPA)
    assert not pa.hpa_goal_met(results[1], "down", SOURCES, "Deployment")
    assert pa.hpa_phase_step(results, DOWN, SOURCES, 240.0)["checks"][0]["status"] == "fail"


def test_leaving_pods_do_not_count_as_running(pa: ModuleType) -> None:
    results = recorded("scale-down")
    leaving = json.loads(json.dumps(recorded("scale-up")[2]["resources"][0]))
    leaving["metadata"]["deletionTimestamp"] = "2026-12-03T12:15:10Z"
    results[2]["resources"].append(leaving)
    assert pa.hpa_phase_step(results, DOWN, SOURCES, 1.0)["output"]["running_pods"] == ["harness-hpa-75dd8fb4b5-ssm4l"]


def test_phase_with_nothing_read(pa: ModuleType) -> None:
    nothing = [{**r, "resources": []} for r in recorded("scale-down")]
    check = pa.hpa_phase_step(nothing, DOWN, SOURCES, 240.0)["checks"][0]
    assert check["status"] == "fail"
    assert check["observed"] == "desired ?, deployment ? (0 ready, 0 running) after 240.0s; metric none"


# --- cleanup and notes ---------------------------------------------------------------------------------


def test_cleanup_deletes_the_namespace_the_role_made(pa: ModuleType) -> None:
    assert pa.hpa_cleanup_targets(SOURCES, created=True) == [{"api_version": "v1", "kind": "Namespace", "name": NS}]
    assert pa.hpa_cleanup_targets(SOURCES, created=False) == []


def test_cleanup_keeps_a_given_namespace(pa: ModuleType) -> None:
    targets = pa.hpa_cleanup_targets({**SOURCES, "namespace": "team-a", "namespace_given": True}, created=False)
    assert [(t["kind"], t["namespace"], t["name"]) for t in targets] == [
        ("HorizontalPodAutoscaler", "team-a", "harness-hpa"), ("Deployment", "team-a", "harness-hpa")]  # fmt: skip


def test_notes(pa: ModuleType) -> None:
    base = ("HPA (autoscaling/v2) on the Pods metric DCGM_FI_DEV_GPU_UTIL from custom.metrics.k8s.io, "
            "target average 50 per pod.")  # fmt: skip
    assert pa.hpa_notes({"results": [{"failed": False}]}, SOURCES) == base
    assert pa.hpa_notes({}, SOURCES, simulated=True) == f"{base} {pa.SIMULATED_NOTE}"
    assert pa.hpa_notes({"results": [{"failed": True, "msg": "timed out"}]}, SOURCES).endswith(
        f"Cleanup did not finish in {NS}.")  # fmt: skip
