"""The judgement of the inference roles (plugins/filter/inference.py): verify_ai_inference,
verify_advanced_inference_ingress and verify_disaggregated_inference, on API objects and request
counts recorded from the simulated lab (data/inference/, see its README), healthy and broken the way
the lab tests break them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from unit_fixtures import load_filter_plugin

DATA = Path(__file__).parent / "data" / "inference"
NOT_REACHED = "not reached: an earlier check did not pass"

AI = {
    "group": "gateway.networking.k8s.io", "crds_required": ["gatewayclasses", "gateways", "httproutes"],
    "crds_optional": ["grpcroutes", "referencegrants"], "gateway_class": "", "namespace": "harness-aiinf-rec",
    "gateway_name": "harness-inference", "listener_port": 18080, "wait_timeout": 120,
    "split_route": "weighted-split", "header_route": "header-match",
    "split_host": "weighted-split.harness-aiinf-rec.harness.test", "header_host": "header-match.harness-aiinf-rec.harness.test",
    "backends": [{"name": "backend-a", "address": "10.250.0.2", "port": 8001, "model": "sim-llm-a"},
                 {"name": "backend-b", "address": "10.250.0.2", "port": 8002, "model": "sim-llm-b"}],
    "weights": [90, 10], "requests": 100, "tolerance_pct": 8, "model_header": "x-model", "identity_header": "x-backend",
    "request_path": "/v1/chat/completions", "gateway_url": "http://127.0.0.1:18080", "python": "python3",
    "script": "/roles/verify_ai_inference/files/openai_requests.py",
}  # fmt: skip  (the role's defaults)


@pytest.fixture(scope="module")
def inf() -> ModuleType:
    return load_filter_plugin("inference")


def recorded(name: str) -> Any:
    path = DATA / name
    return json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())


def by_name(checks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in checks}


# --- shared ---------------------------------------------------------------------------------------


def test_unreached_checks_are_the_ones_no_step_made(inf: ModuleType) -> None:
    steps = [{"checks": [{"name": "a", "status": "pass"}]}, {"skipped": True}, {}]
    assert inf.inference_unreached(["a", "b", "c"], steps, NOT_REACHED) == [
        {"name": "b", "status": "skip", "required": True, "message": NOT_REACHED},
        {"name": "c", "status": "skip", "required": True, "message": NOT_REACHED}]  # fmt: skip


def test_gateway_class_pick_and_wait(inf: ModuleType) -> None:
    classes = recorded("gatewayclasses.json")
    assert inf.gateway_class_pick(classes) == "traefik"
    assert inf.gateway_class_pick(classes, "nonexistent") == "nonexistent"
    assert inf.gateway_class_settled(classes) and inf.gateway_class_settled(classes, "nonexistent")
    pending = copy.deepcopy(classes)
    pending[0]["status"]["conditions"][0]["status"] = "Unknown"
    assert not inf.gateway_class_settled(pending)
    assert inf.gateway_class_pick(pending) == "traefik"  # not Accepted, but the only one: its check says so
    assert inf.gateway_class_pick(pending, any_class=False) == ""
    assert inf.gateway_class_settled([])  # no class at all: waiting changes nothing


# --- verify_ai_inference --------------------------------------------------------------------------


def test_ai_crds_established(inf: ModuleType) -> None:
    step = inf.ai_inference_crds_step(recorded("gateway-api-crds.json"), AI)
    assert [c["status"] for c in step["checks"]] == ["pass"] * 5 and step["facts"] == {"ok": True}
    gw = by_name(step["checks"])["CRD gateways.gateway.networking.k8s.io is Established"]
    assert gw["observed"] == "Established=True, NamesAccepted=True, served v1,v1beta1" and gw["required"] is True
    assert step["files"][0]["name"] == "gateway-api-crds.yaml" and step["output"] == step["files"][0]["data"]
    assert step["command"].startswith("kubectl get crd gatewayclasses.gateway.networking.k8s.io gateways.")


def test_ai_missing_crds(inf: ModuleType) -> None:
    results = recorded("gateway-api-crds.json")
    results[2]["resources"] = []  # httproutes (required) missing
    results[3]["resources"] = []  # grpcroutes (optional) missing: not judged
    step = inf.ai_inference_crds_step(results, AI)
    checks = by_name(step["checks"])
    assert len(checks) == 4 and "CRD grpcroutes.gateway.networking.k8s.io is Established" not in checks
    missing = checks["CRD httproutes.gateway.networking.k8s.io is Established"]
    assert missing["status"] == "fail" and missing["observed"] == "not installed" and not step["facts"]["ok"]


def test_ai_crd_not_established(inf: ModuleType) -> None:
    results = recorded("gateway-api-crds.json")
    conds = results[1]["resources"][0]["status"]["conditions"]
    next(c for c in conds if c["type"] == "Established")["status"] = "False"
    check = by_name(inf.ai_inference_crds_step(results, AI)["checks"])["CRD gateways.gateway.networking.k8s.io is Established"]
    assert check["status"] == "fail" and check["observed"].startswith("Established=False, NamesAccepted=True")


def test_ai_class_accepted(inf: ModuleType) -> None:
    step = inf.ai_inference_class_step(recorded("gatewayclasses.json"), AI)
    assert step["checks"] == [{"name": "GatewayClass is Accepted", "status": "pass",
                               "expected": "GatewayClass traefik Accepted=True",
                               "observed": "GatewayClass traefik (controller traefik.io/gateway-controller) Accepted=True",
                               "message": ""}]  # fmt: skip
    assert step["facts"] == {"name": "traefik", "ok": True} and step["command"] == "kubectl get gatewayclass traefik -o yaml"


def test_ai_class_nonexistent(inf: ModuleType) -> None:
    step = inf.ai_inference_class_step(recorded("gatewayclasses.json"), {**AI, "gateway_class": "nonexistent"})
    (check,) = step["checks"]
    assert check["status"] == "fail" and check["observed"] == "no GatewayClass named nonexistent"
    assert check["message"] == "GatewayClasses present: traefik" and step["output"] == "not found"
    none = inf.ai_inference_class_step([], AI)["checks"][0]
    assert none["observed"] == "no GatewayClass at all" and none["message"] == "GatewayClasses present: none"


def test_ai_traffic_runs_argv(inf: ModuleType) -> None:
    runs = {r["key"]: r for r in inf.ai_inference_traffic_runs(AI)}
    assert runs["split"]["argv"] == [
        "python3", AI["script"], "--url", "http://127.0.0.1:18080", "--path", "/v1/chat/completions",
        "--host", AI["split_host"], "--model", "sim-llm-a", "--count", "100", "--identity-header", "x-backend",
        "--tolerance", "8", "--ready-timeout", "120", "--backend=backend-a=sim-llm-a", "--backend=backend-b=sim-llm-b",
        "--expect=backend-a=90", "--expect=backend-b=10"]  # fmt: skip
    assert runs["header"]["argv"][runs["header"]["argv"].index("--header") + 1] == "x-model=sim-llm-b"
    assert "--header" not in runs["default"]["argv"] and runs["default"]["host"] == AI["header_host"]


def test_ai_gateway_and_routes_accepted(inf: ModuleType) -> None:
    rec = recorded("gateway-and-routes.json")
    step = inf.ai_inference_gateway_step(rec["gateway"], rec["httproutes"], [], AI)
    checks = by_name(step["checks"])
    assert [c["status"] for c in step["checks"]] == ["pass"] * 3 and step["facts"] == {"programmed": True, "ok": True}
    assert checks["Gateway is Programmed"]["observed"] == "Accepted=True (Accepted), Programmed=True (Programmed); addresses: 127.0.0.1"
    assert checks["Weighted HTTPRoute is Accepted with ResolvedRefs"]["observed"] == {
        "Accepted": "True (Accepted)", "ResolvedRefs": "True (ResolvedRefs)"}  # fmt: skip
    assert set(step["output"]["routes"]) == {"weighted-split", "header-match"}


def test_ai_gateway_not_programmed_reaches_no_route(inf: ModuleType) -> None:
    gw = copy.deepcopy(recorded("gateway-and-routes.json")["gateway"])
    for c in gw[0]["status"]["conditions"]:
        c.update(status="Unknown", reason="Pending") if c["type"] == "Programmed" else None
    step = inf.ai_inference_gateway_step(gw, None, [], AI)  # the routes were never read
    (check,) = step["checks"]
    assert check["status"] == "fail" and check["message"] == "the GatewayClass controller did not program the Gateway"
    assert step["facts"] == {"programmed": False, "ok": False}
    assert inf.ai_inference_gateway_step([], None, [], AI)["checks"][0]["observed"] == "no conditions; addresses: none"


def test_ai_route_refs_unresolved(inf: ModuleType) -> None:
    rec = recorded("gateway-and-routes.json")
    routes = copy.deepcopy(rec["httproutes"])
    header = next(r for r in routes if r["metadata"]["name"] == "header-match")
    for c in header["status"]["parents"][0]["conditions"]:
        if c["type"] == "ResolvedRefs":
            c.update(status="False", reason="BackendNotFound")
    checks = by_name(inf.ai_inference_gateway_step(rec["gateway"], routes, [], AI)["checks"])
    bad = checks["Header-match HTTPRoute is Accepted with ResolvedRefs"]
    assert bad["status"] == "fail" and bad["observed"]["ResolvedRefs"] == "False (BackendNotFound)"
    assert checks["Weighted HTTPRoute is Accepted with ResolvedRefs"]["status"] == "pass"
    route_less = inf.ai_inference_gateway_step(rec["gateway"], [], [], AI)["checks"][1]
    assert route_less["observed"] == "no status from the gateway implementation"


def traffic_results(tally: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"item": {"key": k}, "stdout": json.dumps(v)} for k, v in tally.items()]


def test_ai_traffic_follows_weights_and_header(inf: ModuleType) -> None:
    step = inf.ai_inference_traffic_step(traffic_results(recorded("traffic.json")), AI)
    checks = by_name(step["checks"])
    assert [c["status"] for c in step["checks"]] == ["pass"] * 3
    split = checks["Weighted split is observed within tolerance"]
    assert split["expected"] == "all 100 requests answered; shares backend-a:90/backend-b:10 within ±8 points"
    assert split["observed"] == '100/100 answered, by backend {"backend-a": 90, "backend-b": 10}, HTTP {"200": 100}'
    assert checks["Header match routes every request to the matched backend"]["expected"] == "x-model: sim-llm-b → all 100 to backend-b"
    assert step["files"] == [{"name": "traffic.yaml", "data": recorded("traffic.json")}]


def test_ai_traffic_broken(inf: ModuleType) -> None:
    tally = recorded("traffic.json")
    tally["split"].update(within_tolerance=False, backends={"backend-a": 100})  # a 100/0 split
    tally["header"].update(backends={"backend-a": 100})  # the header is ignored
    tally["default"].update(ok=97, statuses={"200": 97, "503": 3}, backends={"backend-a": 97})
    checks = by_name(inf.ai_inference_traffic_step(traffic_results(tally), AI)["checks"])
    assert {n: c["status"] for n, c in checks.items()} == dict.fromkeys(checks, "fail")
    assert checks["Requests without the header reach the default backend"]["observed"] == '{"backend-a": 97}, HTTP {"200": 97, "503": 3}'


# --- verify_advanced_inference_ingress ----------------------------------------------------------------

GAIE = {
    "crds_required": ["inferencepools.inference.networking.k8s.io"],
    "crds_optional": ["inferencepools.inference.networking.x-k8s.io", "inferenceobjectives.inference.networking.x-k8s.io"],
    "gateway_class": "", "namespace": "harness-gaie-rec", "gateway_name": "harness-gaie",
    "pool_group": "inference.networking.k8s.io", "pool_name": "harness-pool",
    "host": "to-inference-pool.harness-gaie-rec.harness.test", "gateway_url": "http://127.0.0.1:18080",
    "request_path": "/v1/chat/completions", "model": "harness-probe", "requests": 10,
}  # fmt: skip  (the role's defaults)
POOL_CRD = "CRD inferencepools.inference.networking.k8s.io is Established"
ROUTE = "HTTPRoute to the InferencePool is Accepted with ResolvedRefs"
POOL = "InferencePool is Accepted by the Gateway"


def gaie_reads(inf: ModuleType, installed: bool = False) -> list[dict[str, Any]]:
    """The looped read as the lab answers it: no GAIE CRD (or the GA one installed, as a recorded
    Gateway API CRD renamed: the lab has none), then the GatewayClasses."""
    crd = recorded("gateway-api-crds.json")[2]["resources"][0]
    out = []
    for item in inf.advanced_inference_ingress_reads(GAIE):
        if item["kind"] == "GatewayClass":
            out.append({"item": item, "resources": recorded("gatewayclasses.json")})
        else:
            present = installed and item["name"] == GAIE["crds_required"][0]
            out.append({"item": item, "resources": [crd] if present else []})
    return out


def test_gaie_crds_absent_on_the_lab(inf: ModuleType) -> None:
    step = inf.advanced_inference_ingress_crds_step(gaie_reads(inf), GAIE)
    checks = by_name(step["checks"])
    assert [c["status"] for c in step["checks"]] == ["fail", "skip", "skip"] and not step["facts"]["ok"]
    assert checks[POOL_CRD]["observed"] == "not installed" and checks[POOL_CRD]["required"] is True
    assert checks[POOL_CRD]["message"] == ("no Gateway API Inference Extension implementation is installed "
                                           "(CRD inferencepools.inference.networking.k8s.io missing)")  # fmt: skip
    optional = checks["CRD inferenceobjectives.inference.networking.x-k8s.io is Established"]
    assert optional["required"] is False and optional["message"] == "optional CRD not installed"
    assert inf.advanced_inference_ingress_notes([step], True) == (
        "No Gateway API Inference Extension implementation: " + checks[POOL_CRD]["message"] + ". Simulated lab: GPUs are simulated.")


def test_gaie_crd_installed(inf: ModuleType) -> None:
    step = inf.advanced_inference_ingress_crds_step(gaie_reads(inf, installed=True), GAIE)
    assert by_name(step["checks"])[POOL_CRD]["status"] == "pass" and step["facts"]["ok"]
    assert inf.advanced_inference_ingress_notes([step]) == ""


def test_gaie_route_refused_by_traefik(inf: ModuleType) -> None:
    """What traefik answers for an InferencePool backendRef (the lab test with the real GAIE CRDs)."""
    rec = recorded("gateway-and-routes.json")
    route = copy.deepcopy(rec["httproutes"][0])
    route["status"]["parents"][0]["parentRef"]["name"] = GAIE["gateway_name"]
    for c in route["status"]["parents"][0]["conditions"]:
        if c["type"] == "ResolvedRefs":
            c.update(status="False", reason="InvalidKind", message="Cannot load HTTPBackendRef")
    classes = recorded("gatewayclasses.json")
    step = inf.advanced_inference_ingress_gateway_step(classes, rec["gateway"], [route], [{"metadata": {"name": "harness-pool"}}], GAIE)
    checks = by_name(step["checks"])
    assert [c["status"] for c in step["checks"]] == ["pass", "pass", "fail", "fail"] and not step["facts"]["ok"]
    assert checks[ROUTE]["observed"]["ResolvedRefs"] == "False (InvalidKind): Cannot load HTTPBackendRef"
    assert checks[ROUTE]["message"] == "the gateway implementation does not route to InferencePools (no GAIE support)"
    assert checks[POOL]["observed"] == "no status.parents: no gateway implementation reconciled the pool"
    assert checks["GatewayClass is Accepted"]["observed"] == "traefik (controller traefik.io/gateway-controller): Accepted=True (Handled)"
    notes = inf.advanced_inference_ingress_notes([step])
    assert notes == "No Gateway API Inference Extension implementation: " + checks[ROUTE]["message"] + ". "


def test_gaie_gateway_step_stops_where_the_role_stopped(inf: ModuleType) -> None:
    classes = recorded("gatewayclasses.json")
    nothing = inf.advanced_inference_ingress_gateway_step(classes, None, None, [], {**GAIE, "gateway_class": "nonexistent"})
    (check,) = nothing["checks"]
    assert check["status"] == "fail" and check["observed"] == "no GatewayClass nonexistent" and "message" not in check
    assert not inf.gateway_class_accepted(classes, "nonexistent") and inf.gateway_class_accepted(classes, "traefik")
    unprogrammed = inf.advanced_inference_ingress_gateway_step(classes, [], None, [], GAIE)
    assert [c["status"] for c in unprogrammed["checks"]] == ["pass", "fail"]
    assert unprogrammed["checks"][1]["observed"] == "no status"


def test_gaie_traffic(inf: ModuleType) -> None:
    tally = {**recorded("traffic.json")["default"], "sent": 10, "ok": 10, "statuses": {"200": 10}}
    step = inf.advanced_inference_ingress_traffic_step(json.dumps(tally), GAIE)
    assert step["checks"][0]["status"] == "pass" and step["checks"][0]["observed"] == '{"200": 10}'
    tally.update(ok=0, statuses={"0": 10})
    failed = inf.advanced_inference_ingress_traffic_step(json.dumps(tally), GAIE)["checks"][0]
    assert failed["status"] == "fail" and failed["expected"] == "all 10 requests answered 200 by pool members"


# --- verify_disaggregated_inference -------------------------------------------------------------------

DISAGG = {
    "namespace": "harness-disagg-rec", "role_label": "llm-d.ai/role", "prefill_value": "prefill", "decode_value": "decode",
    "prefill_replicas": 1, "decode_replicas": 1, "framework_crds": ["dynamographdeployments.nvidia.com",
                                                                    "dynamocomponentdeployments.nvidia.com"],
    "gpu_resource": "nvidia.com/gpu", "gpus_per_pod": 1, "wait_timeout": 120,
}  # fmt: skip  (the role's defaults)
AVAILABLE = "Prefill and decode Deployments become available"
SEPARATE = "Prefill and decode run in separate pods"
PLACED = "Prefill and decode pods run on GPU nodes with GPUs allocated"
FRAMEWORK = "A disaggregated serving framework is installed"


def pair(inf: ModuleType, pods: list[Any] | None = None, framework: list[Any] | None = None) -> dict[str, Any]:
    """The pair step on the recorded pods and Deployments, with the lab's nodes read as the role reads them."""
    rec = recorded("prefill-decode.json")
    pods = rec["pods"] if pods is None else pods
    nodes = json.loads((Path(__file__).parent / "data" / "probes" / "lab-nodes.json").read_text())
    reads = []
    for item in inf.disaggregated_inference_pair_reads(pods, DISAGG):
        if item["kind"] == "Deployment":
            reads.append({"item": item, "resources": rec["deployments"]})
        else:
            reads.append({"item": item, "resources": [n for n in nodes if n["metadata"]["name"] == item["name"]]})
    if framework is None:
        framework = [{"item": i, "resources": []} for i in inf.disaggregated_inference_framework_reads(DISAGG)]
    return inf.disaggregated_inference_pair_step(pods, reads, framework, DISAGG)


def test_disagg_pair_on_gpu_nodes(inf: ModuleType) -> None:
    step = pair(inf)
    checks = by_name(step["checks"])
    assert [c["name"] for c in step["checks"]] == [FRAMEWORK, AVAILABLE, SEPARATE, PLACED]
    assert [c["status"] for c in step["checks"]] == ["skip", "pass", "pass", "pass"] and step["facts"] == {"ok": True}
    assert checks[FRAMEWORK]["observed"] == "0 labelled pod(s); CRDs: none" and checks[FRAMEWORK]["required"] is False
    assert json.loads(checks[AVAILABLE]["observed"])["prefill"] == {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}
    assert checks[AVAILABLE]["expected"] == "1 prefill and 1 decode pod(s) Ready within 120s"
    assert {p["node"] for p in checks[PLACED]["observed"]} == {"sim-gpu-0"}
    assert all(p["gpus_requested"] == 1 and p["node_gpus"] == 8 and p["ready"] for p in checks[PLACED]["observed"])
    assert step["files"][0]["name"] == "prefill-decode.yaml" and step["files"][0]["data"]["framework"] == {"pods": [], "crds": []}
    assert inf.disaggregated_inference_pair_reads(recorded("prefill-decode.json")["pods"], DISAGG)[1:] == [
        {"api_version": "v1", "kind": "Node", "name": "sim-gpu-0"}]  # each node once


def test_disagg_framework_installed(inf: ModuleType) -> None:
    pods = recorded("prefill-decode.json")["pods"]
    framework = [{"item": i, "resources": pods if i["kind"] == "Pod" else
                  ([{"metadata": {"name": i["name"]}}] if i["name"].startswith("dynamograph") else [])}
                 for i in inf.disaggregated_inference_framework_reads(DISAGG)]  # fmt: skip
    assert framework[0]["item"]["label_selectors"] == ["llm-d.ai/role in (prefill,decode)"]
    check = pair(inf, framework=framework)["checks"][0]
    assert check["status"] == "pass" and check["observed"] == "2 labelled pod(s); CRDs: dynamographdeployments.nvidia.com"


def unschedulable(pod: dict[str, Any]) -> dict[str, Any]:
    pod = copy.deepcopy(pod)
    pod["spec"].pop("nodeName", None)
    pod["status"] = {"phase": "Pending", "conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/5 nodes are available: 5 node(s) didn't match Pod's node affinity/selector."}]}  # fmt: skip
    return pod


def test_disagg_decode_never_placed(inf: ModuleType) -> None:
    pods = recorded("prefill-decode.json")["pods"]
    pods = [unschedulable(p) if p["metadata"]["labels"]["llm-d.ai/role"] == "decode" else p for p in pods]
    assert inf.disaggregated_inference_settled(pods, DISAGG)  # the wait stops early: no node will ever match
    step = pair(inf, pods=pods)
    checks = by_name(step["checks"])
    assert [c["status"] for c in step["checks"]] == ["skip", "fail", "fail", "fail"] and not step["facts"]["ok"]
    assert checks[AVAILABLE]["observed"].endswith(" ; unschedulable: 0/5 nodes are available: 5 node(s) didn't match "
                                                  "Pod's node affinity/selector.")  # fmt: skip
    assert checks[SEPARATE]["observed"].endswith("; decode: none")


def test_disagg_wait_and_gpu_placement(inf: ModuleType) -> None:
    pods = recorded("prefill-decode.json")["pods"]
    assert inf.disaggregated_inference_settled(pods, DISAGG)
    assert not inf.disaggregated_inference_settled(pods, {**DISAGG, "decode_replicas": 2})
    no_gpu = copy.deepcopy(pods)
    for p in no_gpu:
        p["spec"]["containers"][0]["resources"] = {}
    placed = by_name(pair(inf, pods=no_gpu)["checks"])[PLACED]
    assert placed["status"] == "fail" and {p["gpus_requested"] for p in placed["observed"]} == {0}
    assert by_name(pair(inf, pods=[])["checks"])[PLACED]["status"] == "fail"  # no pod at all
