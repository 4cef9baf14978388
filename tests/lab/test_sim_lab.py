"""The core simulated lab: control plane, kwok GPU nodes, simulated DRA driver, up/down.

Equivalent by hand:
    export KUBECONFIG=$(harness kubeconfig)
    kubectl get nodes -L nvidia.com/gpu.product -o custom-columns=NAME:.metadata.name,GPU:.status.allocatable.nvidia\\.com/gpu
    kubectl get resourceslices,deviceclasses
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kubernetes import client

from lab_fixtures import CORE_COMPONENTS, SimLab, recap, run_playbook, up_args
from harness.simlab.status import read_components

pytestmark = pytest.mark.lab

DRA = ("resource.k8s.io", "v1")
IMAGE = "registry.invalid/simulated-cuda:1"  # never pulled: kwok runs no containers
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60, interval: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            got = probe()
            if got:
                return got
            last = f"got {got!r}"
        except client.ApiException as exc:
            last = f"API {exc.status}: {exc.reason}"
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} ({last})")
        time.sleep(interval)


def sim_node_names(lab: SimLab) -> list[str]:
    count = int(lab.vars.get("sim_lab_gpu_node_count", 2))
    prefix = str(lab.vars.get("sim_lab_gpu_node_prefix", "sim-gpu-"))
    return [f"{prefix}{i}" for i in range(count)]


@pytest.fixture()
def namespace(k8s: client.ApiClient) -> Iterator[str]:
    core: Any = client.CoreV1Api(k8s)
    name = f"harness-test-lab-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": name, "labels": {"harness.dev/test": "sim-lab"}}})
    wait_for("the namespace's default ServiceAccount",
             lambda: core.read_namespaced_service_account("default", name), 60)
    yield name
    core.delete_namespace(name)


def gpu_container(gpus: int) -> dict[str, Any]:
    return {"name": "cuda", "image": IMAGE, "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}


def test_components_are_recorded_running_and_healthy(lab: SimLab) -> None:
    comps = {c.name: c for c in read_components(lab.state_dir)}
    for name in CORE_COMPONENTS:
        assert name in comps, f"{name} has no record under {lab.state_dir}/components"
        assert comps[name].state == "running", f"{name}: {comps[name].state} ({comps[name].detail})"
        assert Path(comps[name].log).is_file(), f"{name} has no log at {comps[name].log}"
    assert stat.S_IMODE(lab.kubeconfig.stat().st_mode) == 0o600


def test_nodes_advertise_eight_gpus_with_discovery_labels(lab: SimLab, k8s: client.ApiClient) -> None:
    nodes: Any = client.CoreV1Api(k8s).list_node(label_selector="harness.dev/simulated=true").items
    assert sorted(n.metadata.name for n in nodes) == sim_node_names(lab)
    gpus = str(lab.vars.get("sim_lab_gpus_per_node", 8))
    for node in nodes:
        labels = node.metadata.labels
        assert node.status.allocatable.get("nvidia.com/gpu") == gpus, node.status.allocatable
        assert node.status.capacity.get("nvidia.com/gpu") == gpus, node.status.capacity
        ready = [c.status for c in node.status.conditions or [] if c.type == "Ready"]
        assert ready == ["True"], f"{node.metadata.name} Ready={ready}"
        assert labels["nvidia.com/gpu.present"] == "true"
        assert labels["nvidia.com/gpu.count"] == gpus
        assert labels["nvidia.com/gpu.product"] == lab.vars.get("sim_lab_gpu_product", labels["nvidia.com/gpu.product"])
        for key in ("nvidia.com/gpu.memory", "nvidia.com/gpu.family", "nvidia.com/mig.strategy",
                    "nvidia.com/cuda.driver-version.full", "nvidia.com/cuda.runtime-version.full"):
            assert labels.get(key), f"{node.metadata.name} lacks label {key}"
        assert labels["harness.dev/simulated"] == "true"


def test_pod_asking_for_two_gpus_is_bound_and_running(lab: SimLab, k8s: client.ApiClient, namespace: str) -> None:
    core: Any = client.CoreV1Api(k8s)
    core.create_namespaced_pod(namespace, {"metadata": {"name": "two-gpus"},
                                           "spec": {"containers": [gpu_container(2)]}})

    def running() -> Any:
        pod = core.read_namespaced_pod("two-gpus", namespace)
        return pod if pod.status.phase == "Running" else None

    pod = wait_for("pod two-gpus Running", running, 60)
    assert pod.spec.node_name in sim_node_names(lab)
    assert pod.status.pod_ip, "kwok gave the pod no IP"


def test_pod_asking_for_more_gpus_than_a_node_has_stays_pending(k8s: client.ApiClient, namespace: str) -> None:
    core: Any = client.CoreV1Api(k8s)
    core.create_namespaced_pod(namespace, {"metadata": {"name": "too-many"},
                                           "spec": {"containers": [gpu_container(9)]}})

    def unschedulable() -> Any:
        pod = core.read_namespaced_pod("too-many", namespace)
        return [c for c in pod.status.conditions or [] if c.type == "PodScheduled" and c.reason == "Unschedulable"]

    wait_for("pod too-many marked Unschedulable", unschedulable, 60)
    assert core.read_namespaced_pod("too-many", namespace).spec.node_name is None


def test_job_completes(k8s: client.ApiClient, namespace: str) -> None:
    batch: Any = client.BatchV1Api(k8s)
    batch.create_namespaced_job(namespace, {
        "metadata": {"name": "train"},
        "spec": {"completions": 2, "parallelism": 2, "backoffLimit": 0, "template": {"spec": {
            "restartPolicy": "Never", "containers": [gpu_container(1)]}}},
    })

    def complete() -> Any:
        job = batch.read_namespaced_job_status("train", namespace)
        done = [c for c in job.status.conditions or [] if c.type == "Complete" and c.status == "True"]
        return job if done else None

    job = wait_for("job train Complete", complete, 90)
    assert job.status.succeeded == 2


def test_job_pod_runs_for_its_simulated_duration(k8s: client.ApiClient, namespace: str) -> None:
    batch: Any = client.BatchV1Api(k8s)
    core: Any = client.CoreV1Api(k8s)
    batch.create_namespaced_job(namespace, {
        "metadata": {"name": "slow"},
        "spec": {"backoffLimit": 0, "template": {
            "metadata": {"annotations": {"harness.dev/sim-run-duration": "5s"}},
            "spec": {"restartPolicy": "Never", "containers": [gpu_container(1)]}}},
    })

    def phase() -> str:
        pods = core.list_namespaced_pod(namespace, label_selector="job-name=slow").items
        return str(pods[0].status.phase) if pods else ""

    wait_for("job pod Running", lambda: phase() == "Running", 60)
    started = time.monotonic()
    wait_for("job pod Succeeded", lambda: phase() == "Succeeded", 60)
    assert time.monotonic() - started >= 3, "the pod ended before its simulated run duration"


def test_every_node_has_a_resource_slice_shaped_like_nvidias(lab: SimLab, k8s: client.ApiClient) -> None:
    custom: Any = client.CustomObjectsApi(k8s)
    slices = custom.list_cluster_custom_object(*DRA, "resourceslices", field_selector="spec.driver=gpu.nvidia.com")
    by_node = {s["spec"]["nodeName"]: s for s in slices["items"]}
    assert sorted(by_node) == sim_node_names(lab)
    gpus = int(lab.vars.get("sim_lab_gpus_per_node", 8))
    for node, sl in by_node.items():
        assert sl["spec"]["pool"]["name"] == node
        devices = sl["spec"]["devices"]
        assert [d["name"] for d in devices] == [f"gpu-{i}" for i in range(gpus)]
        attrs = devices[0]["attributes"]
        for key in ("type", "uuid", "productName", "brand", "architecture", "driverVersion",
                    "cudaComputeCapability", "cudaDriverVersion"):
            assert key in attrs, f"{node}: device gpu-0 lacks attribute {key}"
        assert attrs["type"] == {"string": "gpu"}
        assert devices[0]["capacity"]["memory"]["value"].endswith("Mi")
    classes = custom.get_cluster_custom_object(*DRA, "deviceclasses", "gpu.nvidia.com")
    assert "gpu.nvidia.com" in classes["spec"]["selectors"][0]["cel"]["expression"]


def test_dra_driver_follows_nodes_as_they_come_and_go(k8s: client.ApiClient) -> None:
    core: Any = client.CoreV1Api(k8s)
    custom: Any = client.CustomObjectsApi(k8s)
    name = f"sim-dra-test-{uuid.uuid4().hex[:6]}"
    # Not annotated for kwok and tainted: nothing gets scheduled onto it while it exists.
    core.create_node({"metadata": {"name": name, "labels": {
        "harness.dev/simulated": "true", "nvidia.com/gpu.count": "2", "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB",
        "nvidia.com/gpu.memory": "81920", "nvidia.com/gpu.family": "ampere"}},
        "spec": {"taints": [{"key": "harness.dev/test", "value": "dra", "effect": "NoSchedule"}]}})

    def slice_of(node: str) -> Any:
        found = custom.list_cluster_custom_object(*DRA, "resourceslices", field_selector=f"spec.nodeName={node}")
        return found["items"][0] if found["items"] else None

    try:
        sl = wait_for(f"a ResourceSlice for new node {name}", lambda: slice_of(name), 30)
        assert [d["name"] for d in sl["spec"]["devices"]] == ["gpu-0", "gpu-1"]
        assert sl["spec"]["devices"][0]["attributes"]["architecture"] == {"string": "Ampere"}
        core.patch_node(name, {"metadata": {"labels": {"nvidia.com/gpu.count": "3"}}})
        sl = wait_for("the slice to follow the node's GPU count",
                      lambda: (s := slice_of(name)) and len(s["spec"]["devices"]) == 3 and s, 30)
        assert sl["spec"]["pool"]["generation"] >= 2
    finally:
        core.delete_node(name)
    wait_for(f"the slice of deleted node {name} to go", lambda: slice_of(name) is None, 30)


def test_resource_claim_from_template_is_allocated_and_pod_runs(lab: SimLab, k8s: client.ApiClient,
                                                                namespace: str) -> None:
    custom: Any = client.CustomObjectsApi(k8s)
    core: Any = client.CoreV1Api(k8s)
    custom.create_namespaced_custom_object(*DRA, namespace, "resourceclaimtemplates", {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaimTemplate",
        "metadata": {"name": "one-gpu"},
        "spec": {"spec": {"devices": {"requests": [
            {"name": "gpu", "exactly": {"deviceClassName": "gpu.nvidia.com"}}]}}},
    })
    core.create_namespaced_pod(namespace, {
        "metadata": {"name": "dra-pod"},
        "spec": {
            "resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": "one-gpu"}],
            "containers": [{"name": "cuda", "image": IMAGE, "resources": {"claims": [{"name": "gpu"}]}}],
        },
    })

    def running() -> Any:
        pod = core.read_namespaced_pod("dra-pod", namespace)
        return pod if pod.status.phase == "Running" else None

    pod = wait_for("pod dra-pod Running", running, 90)
    statuses = pod.status.resource_claim_statuses or []
    assert statuses and statuses[0].resource_claim_name, "the pod's claim was not generated from the template"
    claim = custom.get_namespaced_custom_object(*DRA, namespace, "resourceclaims", statuses[0].resource_claim_name)
    results = claim["status"]["allocation"]["devices"]["results"]
    assert len(results) == 1
    assert results[0]["driver"] == "gpu.nvidia.com"
    assert results[0]["pool"] == pod.spec.node_name
    assert results[0]["device"].startswith("gpu-")
    assert any(r.get("name") == "dra-pod" for r in claim["status"].get("reservedFor", []))


def test_up_twice_changes_nothing(lab: SimLab) -> None:
    proc = run_playbook("up.yml", *up_args())
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    counts = recap(proc.stdout)
    changed, task = [], ""
    for line in proc.stdout.splitlines():
        if line.startswith("TASK ["):
            task = line
        elif line.startswith("changed:"):
            changed.append(f"{task} {line}")  # name the task, not just the host
    assert counts["changed"] == 0, f"second up changed {counts['changed']} task(s): {changed}"
    assert counts["failed"] == 0


def lab_processes(lab: SimLab) -> list[str]:
    """Processes that are lab components: a cached lab binary, or a harness.simlab Python process."""
    cache_bin = str(Path(str(lab.vars.get("sim_lab_cache_dir", "~/.cache/harness"))).expanduser() / "bin") + "/"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        # gVisor's sandbox and gofer processes rename themselves (argv[0] runsc-sandbox, runsc-gofer).
        if (argv[0].startswith(cache_bin) or argv[0].startswith("runsc-")
                or any(a.startswith("harness.simlab.") for a in argv)):
            found.append(f"{entry.name}: {' '.join(argv)[:150]}")
    return found


@pytest.mark.lab_teardown
def test_down_leaves_no_process_netns_or_state(lab: SimLab) -> None:
    if not lab.started_here:
        pytest.skip("the lab was reused (HARNESS_LAB_REUSE=1); this session does not take it down")
    pids = [c.pid for c in read_components(lab.state_dir, check_health=False) if c.alive]
    assert pids, "no running component to stop"
    start = time.monotonic()
    proc = run_playbook("down.yml")
    took = time.monotonic() - start
    lab.torn_down = True
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    alive = [pid for pid in pids if Path(f"/proc/{pid}").exists()
             and "Z" not in (Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1])]
    assert not alive, f"still running after down: {alive}"
    assert not lab_processes(lab), lab_processes(lab)
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    assert "harness-sim" not in netns
    # The real node: no mount, cgroup, network link or container-log link of it is left.
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    assert not [m for m in mounts if m.startswith(str(lab.state_dir))], "mounts of the lab are left"
    assert not list(Path("/sys/fs/cgroup").glob("*/harness-node")), "cgroups of the real node are left"
    assert not Path("/sys/fs/cgroup/harness-node").exists()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=False).stdout
    assert "harness-node" not in links and "harness-cni0" not in links, links
    assert not [p for p in Path("/var/log/containers").glob("*.log")
                if p.is_symlink() and str(p.readlink()).startswith(str(lab.state_dir))]
    assert not lab.state_dir.exists(), f"{lab.state_dir} is still there"
    print(f"down took {took:.1f}s")
