"""Lab: simulated DCGM series reach Prometheus with pod labels; annotated real backends are
discovered and scraped; the custom metrics API serves DCGM_FI_DEV_GPU_UTIL per pod.

Equivalent by hand:
    curl -s '127.0.0.1:19090/api/v1/query?query=DCGM_FI_DEV_GPU_UTIL{pod!=""}'
    kubectl get --raw /apis/custom.metrics.k8s.io/v1beta1/namespaces/NS/pods/*/DCGM_FI_DEV_GPU_UTIL
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as kube_client

from simlab_helpers import BACKENDS_NS, gateway_request, prom_query, wait_for

pytestmark = pytest.mark.lab

# The client's generated models are not worth spelling out here: plain dicts go in.
client: Any = kube_client

UTIL = "harness.dev/simulated-gpu-utilization"


@pytest.fixture()
def namespace(k8s: Any) -> Iterator[str]:
    core = client.CoreV1Api(k8s)
    name = f"harness-test-metrics-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": name, "labels": {"harness.dev/test": "sim-metrics"}}})
    wait_for("default service account", lambda: core.read_namespaced_service_account("default", name), 60)
    yield name
    core.delete_namespace(name)


def gpu_pod(name: str, util: str, gpus: int = 1) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "annotations": {UTIL: util}, "labels": {"app": name}},
        "spec": {
            "nodeSelector": {"nvidia.com/gpu.present": "true"},
            "tolerations": [{"operator": "Exists"}],
            "containers": [{"name": "cuda", "image": "registry.invalid/simulated-cuda:1",
                            "resources": {"limits": {"nvidia.com/gpu": str(gpus)}} if gpus else {}}],
        },
    }


def running(core: Any, ns: str, name: str) -> Any:
    p = core.read_namespaced_pod(name, ns)
    return p if p.status.phase == "Running" else None


def test_dcgm_series_carry_the_gpu_pod_labels(k8s: Any, namespace: str) -> None:
    core = client.CoreV1Api(k8s)
    core.create_namespaced_pod(namespace, gpu_pod("trainer", "75", gpus=2))
    pod = wait_for("GPU pod Running", lambda: running(core, namespace, "trainer"), 90)

    query = f'DCGM_FI_DEV_GPU_UTIL{{namespace="{namespace}",pod="trainer"}}'
    def two_series() -> list[dict[str, Any]] | None:
        result = prom_query(query)
        return result if len(result) == 2 else None

    series = wait_for(f"Prometheus to return {query}", two_series, 60)
    for s in series:
        m = s["metric"]
        assert m["Hostname"] == pod.spec.node_name
        assert m["container"] == "cuda" and m["job"] == "dcgm-exporter"
        assert m["UUID"].startswith("GPU-") and m["device"] == f"nvidia{m['gpu']}" and m["modelName"]
        assert float(s["value"][1]) == 75.0
    assert len({s["metric"]["gpu"] for s in series}) == 2
    # The other DCGM fields follow the same GPUs.
    for metric in ("DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_GPU_TEMP",
                   "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_MEM_COPY_UTIL"):
        assert len(prom_query(f'{metric}{{namespace="{namespace}",pod="trainer"}}')) == 2, metric


def test_dcgm_series_follow_a_dra_claim_to_its_device(k8s: Any, namespace: str) -> None:
    """A pod whose ResourceClaim was allocated a GPU: the series of exactly that device carry its labels."""
    custom = client.CustomObjectsApi(k8s)
    try:
        custom.get_cluster_custom_object("resource.k8s.io", "v1", "deviceclasses", "gpu.nvidia.com")
    except client.ApiException as exc:
        if exc.status == 404:
            pytest.skip("no DeviceClass gpu.nvidia.com (sim_dra not in this lab)")
        raise
    custom.create_namespaced_custom_object("resource.k8s.io", "v1", namespace, "resourceclaimtemplates", {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate", "metadata": {"name": "one-gpu"},
        "spec": {"spec": {"devices": {"requests": [
            {"name": "gpu", "exactly": {"deviceClassName": "gpu.nvidia.com", "count": 1}}]}}},
    })
    pod = gpu_pod("dra-infer", "33", gpus=0)
    pod["spec"]["containers"][0]["resources"] = {"claims": [{"name": "gpu"}]}
    pod["spec"]["resourceClaims"] = [{"name": "gpu", "resourceClaimTemplateName": "one-gpu"}]
    core = client.CoreV1Api(k8s)
    core.create_namespaced_pod(namespace, pod)
    running_pod = wait_for("DRA pod Running", lambda: running(core, namespace, "dra-infer"), 90)

    claim_name = running_pod.status.resource_claim_statuses[0].resource_claim_name
    claim = custom.get_namespaced_custom_object("resource.k8s.io", "v1", namespace, "resourceclaims", claim_name)
    result = claim["status"]["allocation"]["devices"]["results"][0]
    slices = custom.list_cluster_custom_object("resource.k8s.io", "v1", "resourceslices")["items"]
    device = next(d for sl in slices if sl["spec"]["pool"]["name"] == result["pool"]
                  and sl["spec"]["driver"] == result["driver"]
                  for d in sl["spec"].get("devices", []) if d["name"] == result["device"])
    uuid_attr = next(v["string"] for k, v in device["attributes"].items() if k.rsplit("/", 1)[-1] == "uuid")

    query = f'DCGM_FI_DEV_GPU_UTIL{{namespace="{namespace}",pod="dra-infer"}}'
    series = wait_for(f"Prometheus to return {query}", lambda: prom_query(query), 60)
    assert len(series) == 1
    m = series[0]["metric"]
    assert (m["UUID"], m["Hostname"], m["container"]) == (uuid_attr, running_pod.spec.node_name, "cuda")
    assert float(series[0]["value"][1]) == 33.0


def test_idle_gpus_report_zero(k8s: Any) -> None:
    idle = prom_query('DCGM_FI_DEV_GPU_UTIL{pod=""}')
    assert idle, "no idle simulated GPU series (every GPU held?)"
    assert all(float(s["value"][1]) == 0.0 for s in idle)


def test_model_server_metrics_are_discovered_and_scraped() -> None:
    def backend_targets() -> list[dict[str, Any]]:
        return [t for t in _active_targets("kubernetes-service-endpoints")
                if t["labels"].get("namespace") == BACKENDS_NS and t["health"] == "up"]

    targets = wait_for("Prometheus to discover the annotated backend Services", backend_targets, 60)
    assert {t["labels"]["service"] for t in targets} >= {"backend-a", "backend-b"}
    assert all(t["labels"]["instance"].startswith("10.250.0.") for t in targets)

    before = _requests_total("backend-a")
    for _ in range(5):
        code, _, _ = gateway_request("models.sim.test", headers={"x-model": "sim-llm-a"})
        assert code == 200
    wait_for("model_server_requests_total of backend-a to grow by 5",
             lambda: _requests_total("backend-a") >= before + 5, 45)


def _active_targets(job: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen("http://127.0.0.1:19090/api/v1/targets?state=active", timeout=10) as resp:
        body = json.load(resp)
    return [t for t in body["data"]["activeTargets"] if t["labels"].get("job") == job]


def _requests_total(service: str) -> float:
    result = prom_query(f'sum(model_server_requests_total{{namespace="{BACKENDS_NS}",service="{service}",'
                        f'endpoint="/v1/chat/completions"}})')
    return float(result[0]["value"][1]) if result else 0.0


def _custom_metrics_served(k8s: Any) -> bool:
    try:
        client.ApiregistrationV1Api(k8s).read_api_service("v1beta1.custom.metrics.k8s.io")
    except client.ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def test_custom_metrics_api_serves_gpu_utilisation_per_pod(k8s: Any, namespace: str) -> None:
    if not _custom_metrics_served(k8s):
        pytest.skip("prometheus-adapter is not registered (sim_metrics_adapter_enabled=false or not built)")
    core = client.CoreV1Api(k8s)
    core.create_namespaced_pod(namespace, gpu_pod("infer", "40"))
    wait_for("GPU pod Running", lambda: running(core, namespace, "infer"), 90)
    path = f"/apis/custom.metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/*/DCGM_FI_DEV_GPU_UTIL"

    def get() -> list[dict[str, Any]]:
        resp = k8s.call_api(*k8s.param_serialize("GET", path, auth_settings=["BearerToken"]))
        resp.read()
        assert resp.status == 200, f"{resp.status}: {resp.data[:300]!r}"
        return [i for i in json.loads(resp.data)["items"] if i["describedObject"]["name"] == "infer"]

    items = wait_for(f"GET {path} to list pod infer", get, 90, interval=3)
    assert items[0]["describedObject"]["kind"] == "Pod"
    assert items[0]["metricName"] == "DCGM_FI_DEV_GPU_UTIL"
    assert _quantity(items[0]["value"]) == pytest.approx(40.0)


def _quantity(value: str) -> float:
    """A resource.Quantity as the custom metrics API writes it ("40", "40500m")."""
    return float(value[:-1]) / 1000 if value.endswith("m") else float(value)


def test_hpa_scales_a_deployment_on_gpu_utilisation(k8s: Any, namespace: str) -> None:
    """HPA (autoscaling/v2, type Pods) on DCGM_FI_DEV_GPU_UTIL: 90% busy against a 50 target."""
    if not _custom_metrics_served(k8s):
        pytest.skip("prometheus-adapter is not registered (sim_metrics_adapter_enabled=false or not built)")
    template = gpu_pod("gpu-infer", "90")
    client.AppsV1Api(k8s).create_namespaced_deployment(namespace, {
        "metadata": {"name": "gpu-infer"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "gpu-infer"}},
                 "template": {"metadata": {k: v for k, v in template["metadata"].items() if k != "name"},
                              "spec": template["spec"]}},
    })
    client.AutoscalingV2Api(k8s).create_namespaced_horizontal_pod_autoscaler(namespace, {
        "metadata": {"name": "gpu-infer"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gpu-infer"},
            "minReplicas": 1, "maxReplicas": 3,
            "metrics": [{"type": "Pods", "pods": {"metric": {"name": "DCGM_FI_DEV_GPU_UTIL"},
                                                  "target": {"type": "AverageValue", "averageValue": "50"}}}],
        },
    })
    apps = client.AppsV1Api(k8s)
    wait_for("the HPA to scale gpu-infer above 1 replica",
             lambda: apps.read_namespaced_deployment("gpu-infer", namespace).spec.replicas >= 2, 180, interval=3)
    hpa = client.AutoscalingV2Api(k8s).read_namespaced_horizontal_pod_autoscaler("gpu-infer", namespace)
    current = hpa.status.current_metrics[0].pods.current.average_value
    assert _quantity(current) == pytest.approx(90.0)


def test_exporter_reads_the_gpu_inventory_only_every_inventory_interval(lab: Any, k8s: Any) -> None:
    from harness.simlab.dcgm_exporter import GPU_PRESENT_LABEL, KubeSource

    now = [0.0]
    source = KubeSource(str(lab.kubeconfig), inventory_every=30.0, clock=lambda: now[0])
    names = lambda: {n["metadata"]["name"] for n in source.fetch().nodes}  # noqa: E731
    before = names()
    assert before, "the lab has GPU nodes"
    core = client.CoreV1Api(k8s)
    extra = f"harness-test-inventory-{uuid.uuid4().hex[:6]}"  # a Node object nobody runs: never Ready
    core.create_node({"metadata": {"name": extra, "labels": {GPU_PRESENT_LABEL: "true", "harness.dev/test": "sim-metrics"}}})
    try:
        now[0] = 29.0
        assert names() == before  # pods and claims were read again, the inventory was not

        def after_the_interval() -> bool:
            now[0] += 30.0  # the watch cache may lag the create by a moment: each try is a new interval
            return extra in names()

        wait_for("the new node in the exporter's inventory", after_the_interval, 30)
    finally:
        core.delete_node(extra)
