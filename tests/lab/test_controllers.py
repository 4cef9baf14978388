"""Kueue and the KubeRay operator, run as local processes, doing their job on the simulated lab.

- Kueue admits a Job only when its whole request fits the ClusterQueue's quota (all or nothing):
  the Job that fits is unsuspended and its pods run and complete on the simulated GPU nodes, the
  Job that does not fit stays suspended with no pods.
- Kueue's and KubeRay's validating webhooks are wired to the apiserver and refuse invalid objects.
- KubeRay turns a RayCluster into head and worker pods that run, and reports the cluster ready.
- Through Kueue's ray.io/raycluster integration a RayCluster, too, is admitted whole or not at all.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness.simlab.status import read_components
from lab_fixtures import SimLab

pytestmark = pytest.mark.lab

KUEUE = ("kueue.x-k8s.io", "v1beta2")
RAY = ("ray.io", "v1")
# Every simulated GPU node carries this label (role sim_gpu_nodes).
SIM_NODE_LABEL = {"harness.dev/simulated": "true"}
GPU = "nvidia.com/gpu"

T = TypeVar("T")
# Only used to turn client models into plain data; it never talks to a server.
_SERIALIZER = client.ApiClient()


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 120.0, interval: float = 1.0) -> T:
    """Poll probe until it returns something truthy; fail with what was last seen."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def _uid() -> str:
    return uuid.uuid4().hex[:6]


def as_dict(obj: object) -> dict[str, Any]:
    """A client model (or a dict the custom-objects API returned) as plain JSON data."""
    return cast(dict[str, Any], _SERIALIZER.sanitize_for_serialization(obj))  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def api(lab: SimLab, k8s: client.ApiClient) -> client.ApiClient:
    """The lab's client, once the controllers (role sim_controllers) are known to run."""
    running = {c.name for c in read_components(lab.state_dir) if c.state == "running"}
    missing = {"kueue", "kuberay-operator"} - running
    assert not missing, f"controllers not running in the lab ({lab.state_dir}): {sorted(missing)}"
    return k8s


@pytest.fixture
def namespace(api: client.ApiClient) -> Iterator[str]:
    name = f"h-ctrl-{_uid()}"
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        core.delete_namespace(name, propagation_policy="Background")


@pytest.fixture
def gpu_queue(api: client.ApiClient, namespace: str) -> Iterator[str]:
    """ResourceFlavor + ClusterQueue (8 GPUs, 16 CPUs) + a LocalQueue in the test namespace."""
    uid = _uid()
    flavor = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor",
              "metadata": {"name": f"h-sim-gpu-{uid}"}, "spec": {"nodeLabels": SIM_NODE_LABEL}}
    cq_name = f"h-gpu-{uid}"
    cq = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue",
          "metadata": {"name": cq_name},
          "spec": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                   "queueingStrategy": "BestEffortFIFO",
                   "resourceGroups": [{"coveredResources": ["cpu", "memory", GPU],
                                       "flavors": [{"name": f"h-sim-gpu-{uid}", "resources": [
                                           {"name": "cpu", "nominalQuota": "16"},
                                           {"name": "memory", "nominalQuota": "64Gi"},
                                           {"name": GPU, "nominalQuota": "8"}]}]}]}}
    custom = client.CustomObjectsApi(api)
    created: list[tuple[str, str]] = []
    try:
        for plural, body in (("resourceflavors", flavor), ("clusterqueues", cq)):
            custom.create_cluster_custom_object(*KUEUE, plural, body)
            created.append((plural, as_dict(body)["metadata"]["name"]))
        custom.create_namespaced_custom_object(*KUEUE, namespace, "localqueues", {
            "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue",
            "metadata": {"name": "gpu", "namespace": namespace}, "spec": {"clusterQueue": cq_name}})
        wait_for("the ClusterQueue to be Active", lambda: _condition(
            as_dict(custom.get_cluster_custom_object(*KUEUE, "clusterqueues", cq_name)), "Active"
        ).get("status") == "True", timeout=30)
        yield "gpu"
    finally:
        # Jobs and the LocalQueue go with the namespace; the rest is cluster-scoped.
        for plural, name in reversed(created):
            try:
                custom.delete_cluster_custom_object(*KUEUE, plural, name)
            except ApiException as exc:
                if exc.status != 404:
                    raise


def _gpu_job(name: str, queue: str, pods: int, run: str = "0s") -> dict[str, Any]:
    container = {"name": "train", "image": "registry.invalid/trainer:sim",
                 "resources": {"requests": {"cpu": "100m", "memory": "64Mi", GPU: "1"}, "limits": {GPU: "1"}}}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "labels": {"kueue.x-k8s.io/queue-name": queue}},
            "spec": {"parallelism": pods, "completions": pods, "backoffLimit": 0,
                     "template": {"metadata": {"annotations": {"harness.dev/sim-run-duration": run}},
                                  "spec": {"restartPolicy": "Never", "containers": [container]}}}}


def _create_job(api: client.ApiClient, namespace: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    # The client serialises a plain dict body as it is.
    return as_dict(client.BatchV1Api(api).create_namespaced_job(namespace, cast(client.V1Job, body), **kw))


def _job(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    return as_dict(client.BatchV1Api(api).read_namespaced_job(name, namespace))


def _pods(api: client.ApiClient, namespace: str, selector: str) -> list[dict[str, Any]]:
    pods = as_dict(client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=selector))
    return list(pods.get("items") or [])


def _workload_of(api: client.ApiClient, namespace: str, job_uid: str) -> dict[str, Any] | None:
    items = as_dict(client.CustomObjectsApi(api).list_namespaced_custom_object(*KUEUE, namespace, "workloads"))
    for wl in items.get("items") or []:
        if any(ref.get("uid") == job_uid for ref in wl["metadata"].get("ownerReferences", [])):
            return dict(wl)
    return None


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return {}


def test_kueue_admits_a_job_only_when_its_whole_quota_fits(api: client.ApiClient, namespace: str,
                                                            gpu_queue: str) -> None:
    # The job that can never fit goes first: BestEffortFIFO must not let it block the other.
    big = _create_job(api, namespace, _gpu_job("needs-12-gpus", gpu_queue, 12))
    fits = _create_job(api, namespace, _gpu_job("needs-4-gpus", gpu_queue, 4, run="5s"))
    # Kueue's mutating webhook suspends queued jobs on create.
    assert big["spec"].get("suspend") is True
    assert fits["spec"].get("suspend") is True

    def admitted() -> dict[str, Any] | None:
        wl = _workload_of(api, namespace, fits["metadata"]["uid"])
        return wl if wl and _condition(wl, "Admitted").get("status") == "True" else None

    workload = wait_for("the 4-GPU workload to be admitted", admitted, timeout=60)
    assignment = workload["status"]["admission"]["podSetAssignments"][0]
    assert assignment["count"] == 4
    assert assignment["resourceUsage"][GPU] == "4"

    wait_for("the 4-GPU job to be unsuspended",
             lambda: _job(api, namespace, "needs-4-gpus")["spec"].get("suspend") is False, timeout=30)

    def started() -> list[dict[str, Any]] | None:
        pods = [p for p in _pods(api, namespace, "job-name=needs-4-gpus")
                if p["status"].get("phase") in ("Running", "Succeeded") and p["spec"].get("nodeName")]
        return pods if len(pods) == 4 else None

    core = client.CoreV1Api(api)
    for pod in wait_for("4 pods of the admitted job on simulated GPU nodes", started, timeout=90):
        # Kueue injected the flavor's node labels and the scheduler honoured them.
        assert (pod["spec"].get("nodeSelector") or {}).items() >= SIM_NODE_LABEL.items(), pod["spec"]
        node = as_dict(core.read_node(pod["spec"]["nodeName"]))
        assert node["metadata"]["labels"].items() >= SIM_NODE_LABEL.items()
        assert int(node["status"]["allocatable"].get(GPU, "0")) >= 1
    wait_for("the admitted job to complete", lambda: _condition(
        _job(api, namespace, "needs-4-gpus"), "Complete").get("status") == "True", timeout=90)

    # All or nothing: 12 GPUs never fit a queue of 8, so nothing of that job runs, not even 8 pods.
    assert _job(api, namespace, "needs-12-gpus")["spec"].get("suspend") is True
    assert _pods(api, namespace, "job-name=needs-12-gpus") == []
    big_wl = wait_for("the 12-GPU workload to exist", lambda: _workload_of(api, namespace, big["metadata"]["uid"]))
    assert _condition(big_wl, "Admitted").get("status") != "True"
    reserved = _condition(big_wl, "QuotaReserved")
    assert reserved.get("status") == "False", reserved
    assert GPU in reserved.get("message", ""), reserved


def _rejection(create: Callable[[], object]) -> str:
    with pytest.raises(ApiException) as info:
        create()
    body = info.value.body or ""
    if isinstance(body, bytes):
        body = body.decode()
    try:
        return str(json.loads(body).get("message", body))
    except ValueError:
        return str(body)


def test_kueue_webhook_rejects_an_invalid_job(api: client.ApiClient, namespace: str) -> None:
    job = _gpu_job("bad-queue-name", "Not_A_Queue", 1)
    message = _rejection(lambda: _create_job(api, namespace, job, dry_run="All"))
    assert 'admission webhook "vjob.kb.io" denied the request' in message, message
    assert "kueue.x-k8s.io/queue-name" in message, message


def _ray_pod_template(cpu: str, gpus: int = 0) -> dict[str, Any]:
    limits: dict[str, str] = {"cpu": cpu, "memory": "256Mi"}
    if gpus:
        limits[GPU] = str(gpus)
    return {"spec": {"containers": [{"name": "ray", "image": "registry.invalid/ray:sim",
                                     "resources": {"requests": dict(limits), "limits": limits}}]}}


def _raycluster(name: str, groups: list[str], replicas: int = 2, gpus: int = 0,
                queue: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if queue:
        meta["labels"] = {"kueue.x-k8s.io/queue-name": queue}
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": meta,
            "spec": {"headGroupSpec": {"rayStartParams": {}, "template": _ray_pod_template("1")},
                     "workerGroupSpecs": [{"groupName": g, "replicas": replicas, "minReplicas": replicas,
                                           "maxReplicas": replicas, "rayStartParams": {},
                                           "template": _ray_pod_template("500m", gpus)} for g in groups]}}


def test_kuberay_brings_a_raycluster_to_ready(api: client.ApiClient, namespace: str) -> None:
    custom = client.CustomObjectsApi(api)
    name = "sim-ray"
    custom.create_namespaced_custom_object(*RAY, namespace, "rayclusters", _raycluster(name, ["workers"]))

    def pods_running() -> list[dict[str, Any]] | None:
        pods = [p for p in _pods(api, namespace, f"ray.io/cluster={name}") if p["status"].get("phase") == "Running"]
        return pods if len(pods) == 3 else None

    pods = wait_for("the head and 2 worker pods to run", pods_running, timeout=120)
    assert sorted(p["metadata"]["labels"].get("ray.io/node-type", "") for p in pods) == ["head", "worker", "worker"]

    def ready() -> dict[str, Any] | None:
        obj = as_dict(custom.get_namespaced_custom_object(*RAY, namespace, "rayclusters", name))
        return obj if (obj.get("status") or {}).get("state") == "ready" else None

    cluster = wait_for("the RayCluster to be ready", ready, timeout=120)
    assert cluster["status"].get("readyWorkerReplicas") == 2
    assert _condition(cluster, "RayClusterProvisioned").get("status") == "True"
    assert _condition(cluster, "HeadPodReady").get("status") == "True"
    # The operator also made the head Service that Ray clients connect to.
    services = as_dict(client.CoreV1Api(api).list_namespaced_service(namespace, label_selector=f"ray.io/cluster={name}"))
    assert any(s["metadata"]["labels"].get("ray.io/node-type") == "head" for s in services["items"]), services


def test_kuberay_webhook_rejects_duplicate_worker_groups(api: client.ApiClient, namespace: str) -> None:
    custom = client.CustomObjectsApi(api)
    message = _rejection(lambda: custom.create_namespaced_custom_object(
        *RAY, namespace, "rayclusters", _raycluster("twins", ["same", "same"], replicas=1), dry_run="All"))
    assert 'admission webhook "vraycluster.kb.io" denied the request' in message, message
    assert "worker group names must be unique" in message, message


def test_kueue_gates_rayclusters_as_a_whole(api: client.ApiClient, namespace: str, gpu_queue: str) -> None:
    """Kueue's ray.io/raycluster integration: a RayCluster is admitted whole or kept suspended."""
    custom = client.CustomObjectsApi(api)
    # 3 workers x 4 GPUs = 12 > 8: never admitted. 2 workers x 2 GPUs = 4: admitted.
    custom.create_namespaced_custom_object(*RAY, namespace, "rayclusters",
                                           _raycluster("ray-too-big", ["gpu"], replicas=3, gpus=4, queue=gpu_queue))
    custom.create_namespaced_custom_object(*RAY, namespace, "rayclusters",
                                           _raycluster("ray-fits", ["gpu"], replicas=2, gpus=2, queue=gpu_queue))

    def get(name: str) -> dict[str, Any]:
        return as_dict(custom.get_namespaced_custom_object(*RAY, namespace, "rayclusters", name))

    wait_for("the fitting RayCluster to be ready", lambda: (get("ray-fits").get("status") or {}).get("state") == "ready",
             timeout=120)
    fits = get("ray-fits")
    assert fits["spec"].get("suspend") is not True
    # It ran because Kueue admitted it, with the head and both workers in one admission.
    fits_wl = _workload_of(api, namespace, fits["metadata"]["uid"])
    assert fits_wl and _condition(fits_wl, "Admitted").get("status") == "True", fits_wl
    usage = {a["name"]: a.get("resourceUsage", {}) for a in fits_wl["status"]["admission"]["podSetAssignments"]}
    assert usage["gpu"][GPU] == "4", usage
    pods = _pods(api, namespace, "ray.io/cluster=ray-fits")
    assert len(pods) == 3 and all(p["status"].get("phase") == "Running" for p in pods), pods

    big = get("ray-too-big")
    assert big["spec"].get("suspend") is True
    assert _pods(api, namespace, "ray.io/cluster=ray-too-big") == []
    big_wl = wait_for("the big RayCluster's workload", lambda: _workload_of(api, namespace, big["metadata"]["uid"]))
    assert _condition(big_wl, "QuotaReserved").get("status") == "False", big_wl.get("status")
