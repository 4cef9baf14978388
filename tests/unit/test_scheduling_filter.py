"""The judgement of verify_gang_scheduling (plugins/filter/scheduling.py), on what three lab runs of the
role recorded (data/scheduling/): a healthy run, Jobs naming a queue that does not exist, and Kueue
stopped. The registered results the role's tasks pass are rebuilt from each run's evidence files, and
every judged step must render the very notebook section that run wrote (titles, commands, outputs,
checks with their expected/observed texts); the broken readings change the healthy objects the way a
broken cluster would."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from unit_fixtures import load_filter_plugin, load_plugin

DATA = Path(__file__).parent / "data" / "scheduling"
ev = load_plugin("module_utils", "evidence_files")

POS_ADMITTED = "PositiveGangScheduling: Job admitted by the gang scheduler"
POS_BOUND = "PositiveGangScheduling: Job unsuspended and every pod bound to a node"
POS_COMPLETES = "PositiveGangScheduling: Job completes"
POS_LABELS = "PositiveGangScheduling: Job labels preserved"
NEG_BOUND = "NegativeGangScheduling: no pod bound during the window"
NEG_SUSPENDED = "NegativeGangScheduling: Job stays suspended, not admitted"
NEG_LABELS = "NegativeGangScheduling: Job labels preserved"


@pytest.fixture(scope="module")
def gs() -> ModuleType:
    return load_filter_plugin("scheduling")


def load(run: str, name: str) -> Any:
    return yaml.safe_load((DATA / run / name).read_text())


def notebook(run: str) -> dict[str, str]:
    """The recorded notebook's sections by title, each as harness.conformance.evidence wrote it."""
    text = (DATA / run / "output.md").read_text()
    parts = re.split(r"(?m)^## ", text)[1:]
    return {p.split("\n", 1)[0]: "## " + p for p in parts}


def rendered(step: dict[str, Any]) -> str:
    return str(ev.section(step["title"], step.get("command"), step.get("output"), step.get("checks") or []))


class Run:
    """The registered results of one recorded run, rebuilt from its evidence files."""

    def __init__(self, run: str, admit_timeout: int = 90) -> None:
        self.run = run
        self.pos = load(run, "positive-observed.yaml")
        self.neg = load(run, "negative-observed.yaml")
        self.jobs = load(run, "jobs-applied.yaml")
        pos_job = next(j for j in self.jobs if j["metadata"]["name"] == "pos-job")
        ns = pos_job["metadata"]["namespace"]
        self.sources: dict[str, Any] = {
            "namespace": ns, "own_namespace": True, "cluster_name": ns, "queue_name": "harness-gang",
            "job_queue": pos_job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"], "create_queue": True,
            "api_version": "kueue.x-k8s.io/v1beta2", "gpu_resource": "nvidia.com/gpu", "quota_gpu": 8,
            "quota_cpu": "16", "quota_memory": "64Gi", "gpus_per_pod": 1, "positive_pods": 2, "negative_pods": 9,
            "expected_labels": pos_job["metadata"]["labels"], "admit_timeout": admit_timeout,
            "complete_timeout": 180, "negative_window": 20, "poll_interval": 2,
        }  # fmt: skip  (the role's defaults, as vars/main.yml passes them)
        observed = {"pos-job": self.pos["job"], "neg-job": self.neg["job"]}
        self.created: dict[str, Any] = {"changed": True, "results": [
            {"item": j, "changed": True, "failed": False, "result": observed[j["metadata"]["name"]]}
            for j in self.jobs]}  # fmt: skip
        workloads = [w for w in (self.pos["workload"], self.neg["workload"]) if w]
        self.pos_wl: dict[str, Any] = {"resources": workloads}
        self.pos_pods: dict[str, Any] = {"resources": self.pos["pods"], "attempts": 1}
        self.pos_job = {"resources": [self.pos["job"]] if self.pos["job"] else []}
        self.neg_read: list[dict[str, Any]] = [{"item": {"kind": "Job"}, "resources": [self.neg["job"]] if self.neg["job"] else []},
                         {"item": {"kind": "Workload"}, "resources": workloads}]  # fmt: skip
        self.neg_pods: dict[str, Any] = {"resources": self.neg["pods"], "attempts": self.neg["polls"]}

    def admission(self, gs: ModuleType) -> dict[str, Any]:
        return dict(gs.gang_admission(self.pos_wl, self.created, self.sources))

    def positive(self, gs: ModuleType) -> dict[str, Any]:
        return dict(gs.gang_positive(self.pos_job, self.pos_pods, self.admission(gs)["facts"], self.sources))

    def negative(self, gs: ModuleType) -> dict[str, Any]:
        return dict(gs.gang_negative(self.neg_read, self.neg_pods, self.created, 0, self.neg["window_seconds"],
                                     self.sources))  # fmt: skip


def checks(step: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in step["checks"]}


# ---- the healthy run, section by section -------------------------------------------------------

def test_kueue_api_served(gs: ModuleType) -> None:
    step = gs.gang_api(json.loads((DATA / "crds.json").read_text()), {})
    assert step["facts"] == {"api_ok": True}
    assert rendered(step) == notebook("healthy")["Kueue's API is served"]


def test_kueue_missing_fails_the_api(gs: ModuleType) -> None:
    crds = json.loads((DATA / "crds.json").read_text())
    crds[3] = {"item": "workloads", "resources": [], "failed": False}
    step = gs.gang_api(crds, {})
    c = step["checks"][0]
    assert step["facts"] == {"api_ok": False} and c["status"] == "fail"
    assert c["observed"] == "Established: resourceflavors, clusterqueues, localqueues"
    assert c["message"] == "Kueue is not installed (or its CRDs are not established)"
    assert gs.gang_api([], {})["checks"][0]["observed"] == "Established: none"


def healthy_queue() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    objs = load("healthy", "queue-applied.yaml")
    applied = {"results": [{"item": o, "changed": True, "failed": False} for o in objs]}
    section = notebook("healthy")["A ClusterQueue with a 8-GPU quota and a LocalQueue"]
    cq = dict(objs[2], status=yaml.safe_load(section.split("```\n")[1]))  # the status the notebook recorded
    return applied, {"resources": [cq]}, {"resources": [objs[3]]}


def test_queue_accepted_and_active(gs: ModuleType) -> None:
    step = gs.gang_queue(*healthy_queue(), Run("healthy").sources)
    assert rendered(step) == notebook("healthy")["A ClusterQueue with a 8-GPU quota and a LocalQueue"]
    assert step["files"] == [{"name": "queue-applied.yaml", "data": load("healthy", "queue-applied.yaml")}]


def test_queue_not_active_or_missing_fails(gs: ModuleType) -> None:
    applied, cq, lq = healthy_queue()
    cq["resources"][0]["status"]["conditions"][0]["status"] = "False"
    c = gs.gang_queue(applied, cq, {"resources": []}, Run("healthy").sources)["checks"][0]
    assert c["status"] == "fail" and c["observed"] == "ClusterQueue active: False, LocalQueue found: False"
    # A LocalQueue the platform has (no ClusterQueue made) is enough.
    src = dict(Run("healthy").sources, create_queue=False)
    step = gs.gang_queue({"results": [], "skipped": True}, {"skipped": True}, lq, src)
    assert step["checks"][0]["status"] == "pass" and step["output"] == "no ClusterQueue made"


def test_healthy_positive_admission(gs: ModuleType) -> None:
    run = Run("healthy")
    step = run.admission(gs)
    assert rendered(step) == notebook("healthy")["PositiveGangScheduling: a 2-pod Job that fits the quota is admitted"]
    assert step["facts"]["admitted"] is True
    assert step["facts"]["workload"]["metadata"]["name"] == run.pos["workload"]["metadata"]["name"]
    assert step["files"] == [{"name": "jobs-applied.yaml", "data": run.jobs}]


def test_healthy_positive_job(gs: ModuleType) -> None:
    run = Run("healthy")
    step = run.positive(gs)
    assert rendered(step) == notebook("healthy")["PositiveGangScheduling: every pod is bound and the Job completes"]
    assert step["files"] == [{"name": "positive-observed.yaml", "data": run.pos}]


def test_healthy_negative_job(gs: ModuleType) -> None:
    run = Run("healthy")
    step = run.negative(gs)
    title = "NegativeGangScheduling: a 9-pod Job that exceeds the quota gets no pod at all"
    assert rendered(step) == notebook("healthy")[title]
    assert step["files"] == [{"name": "negative-observed.yaml", "data": run.neg}]


# ---- broken readings ---------------------------------------------------------------------------

def test_queue_that_does_not_exist(gs: ModuleType) -> None:
    run = Run("no-such-queue", admit_timeout=20)
    book = notebook("no-such-queue")
    admission = run.admission(gs)
    assert admission["facts"]["admitted"] is False
    assert checks(admission)[POS_ADMITTED]["message"] == (
        "queue harness-no-such-queue: the Job that fits the quota was never admitted")
    run.pos_pods = {"skipped": True}  # not admitted: the pods are not waited for
    for step in (admission, run.positive(gs), run.negative(gs)):
        assert rendered(step) == book[step["title"]]


def test_stopped_kueue(gs: ModuleType) -> None:
    """Kueue's webhooks cannot be called: its objects and both Jobs are refused."""
    run = Run("stopped-kueue", admit_timeout=20)
    book = notebook("stopped-kueue")
    refused = book["PositiveGangScheduling: a 2-pod Job that fits the quota is admitted"].split("```\n")[1].strip()
    run.created = {"failed": True, "results": [
        {"item": j, "failed": True, "msg": refused} for j in run.jobs]}  # fmt: skip
    run.pos_wl = {"skipped": True}
    run.pos_pods = {"skipped": True}
    run.neg_pods = {"skipped": True}
    run.neg_read = [{"resources": []}, {"resources": []}]
    objs = load("healthy", "queue-applied.yaml")

    def webhook(kind: str) -> str:
        return refused.replace("mjob.kb.io", f"m{kind}.kb.io").replace(
            "mutate-batch-v1-job", f"mutate-kueue-x-k8s-io-v1beta2-{kind}")

    applied = {"failed": True, "results": [
        {"item": objs[0], "failed": False}, {"item": objs[1], "failed": True, "msg": webhook("resourceflavor")},
        {"item": objs[2], "failed": True, "msg": webhook("clusterqueue")}, {"item": objs[3], "failed": False}]}
    sources = dict(run.sources, namespace="harness-gang-20261203t121240z-e7eb7e",
                   cluster_name="harness-gang-20261203t121240z-e7eb7e")  # fmt: skip
    queue = gs.gang_queue(applied, {"skipped": True}, {"resources": []}, sources)
    assert rendered(queue) == book["A ClusterQueue with a 8-GPU quota and a LocalQueue"]
    steps = (run.admission(gs), run.positive(gs),
             gs.gang_negative(run.neg_read, run.neg_pods, run.created, 0, 0.2, run.sources))  # fmt: skip
    for step in steps:
        assert rendered(step) == book[step["title"]]
    assert checks(steps[2])[NEG_BOUND]["observed"].startswith("Job not created: Failed to create object")


def test_gang_split_up_fails(gs: ModuleType) -> None:
    """Kueue admits only part of the gang: one pod of the positive Job is bound, the other never is."""
    run = Run("healthy")
    run.pos_pods["resources"][1]["spec"].pop("nodeName")
    c = checks(run.positive(gs))[POS_BOUND]
    assert c["status"] == "fail" and c["observed"] == "suspend=False, 1 bound on sim-gpu-1"


def test_failed_positive_job(gs: ModuleType) -> None:
    run = Run("healthy")
    for cond in run.pos["job"]["status"]["conditions"]:
        if cond["type"] == "Complete":
            cond["type"] = "Failed"
    c = checks(run.positive(gs))[POS_COMPLETES]
    assert c["status"] == "fail" and c["observed"] == "conditions True: SuccessCriteriaMet, Failed"
    assert gs.gang_finished([run.pos["job"]]) is True


def test_labels_dropped_on_admission(gs: ModuleType) -> None:
    run = Run("healthy")
    del run.pos["job"]["metadata"]["labels"]["kueue.x-k8s.io/queue-name"]
    run.neg["job"]["metadata"]["labels"]["harness.dev/run-id"] = "other"
    assert checks(run.positive(gs))[POS_LABELS]["observed"] == "missing or changed: kueue.x-k8s.io/queue-name"
    neg = checks(run.negative(gs))[NEG_LABELS]
    assert neg["status"] == "fail" and neg["observed"] == "missing or changed: harness.dev/run-id"


def test_negative_gang_partly_bound(gs: ModuleType) -> None:
    """A scheduler that is not all-or-nothing binds some pods of the Job that exceeds the quota."""
    run = Run("healthy")
    pod = copy.deepcopy(run.pos["pods"][0])
    pod["metadata"]["name"] = "neg-job-abcde"
    run.neg_pods["resources"] = [pod]
    c = checks(run.negative(gs))[NEG_BOUND]
    assert c["status"] == "fail" and c["observed"] == "1 bound (1 pods exist) over 20.6s"


def test_negative_job_admitted(gs: ModuleType) -> None:
    run = Run("healthy")
    run.neg["job"]["spec"]["suspend"] = False
    run.neg["workload"]["status"]["conditions"].append({"type": "Admitted", "status": "True"})
    c = checks(run.negative(gs))[NEG_SUSPENDED]
    assert c["status"] == "fail"
    assert c["observed"] == 'suspend=False, Workload conditions {"QuotaReserved": "False", "PodsReady": "False", "Admitted": "True"}'


def test_workload_of_an_earlier_job_is_not_it(gs: ModuleType) -> None:
    run = Run("healthy")
    pos = run.created["results"][1]
    assert gs.gang_workload(run.pos_wl, pos)["metadata"]["name"] == run.pos["workload"]["metadata"]["name"]
    other = dict(pos, result={"metadata": {"uid": "another-uid"}})
    assert gs.gang_workload(run.pos_wl["resources"], other) == {}
    assert gs.gang_workload({"skipped": True}, pos) == {}


def test_no_managed_fields_in_evidence(gs: ModuleType) -> None:
    run = Run("healthy")
    run.pos["job"]["metadata"]["managedFields"] = [{"manager": "kube-controller-manager"}]
    data = run.positive(gs)["files"][0]["data"]
    assert "managedFields" not in data["job"]["metadata"]


# ---- cleanup and notes -------------------------------------------------------------------------

def test_cleanup_of_own_namespace_and_queue(gs: ModuleType) -> None:
    src: dict[str, Any] = Run("healthy").sources
    assert [(o["kind"], o["name"]) for o in gs.gang_cleanup(src, True)] == [
        ("Namespace", src["namespace"]), ("ClusterQueue", src["cluster_name"]), ("ResourceFlavor", src["cluster_name"])]
    assert [o["kind"] for o in gs.gang_cleanup(src, False)] == ["Namespace"]
    given = dict(src, own_namespace=False, create_queue=False)
    jobs = gs.gang_cleanup(given, True)
    assert [(o["kind"], o["namespace"], o["name"]) for o in jobs] == [
        ("Job", src["namespace"], "pos-job"), ("Job", src["namespace"], "neg-job")]
    assert jobs[0]["delete_options"] == {"propagationPolicy": "Background"}


def test_notes(gs: ModuleType) -> None:
    src = Run("healthy").sources
    assert gs.gang_notes({"results": [{"item": {"kind": "Namespace", "name": "ns"}, "failed": False}]}, src, True) == (
        "Kueue kueue.x-k8s.io/v1beta2 as gang scheduler; quota 8 nvidia.com/gpu. GPUs are simulated (kwok nodes): "
        "Job pods are bound by the real kube-scheduler and run/complete as kwok stages.")  # fmt: skip
    left = {"results": [{"item": {"kind": "ClusterQueue", "name": "cq"}, "failed": True}]}
    assert gs.gang_notes(left, src) == (
        "Kueue kueue.x-k8s.io/v1beta2 as gang scheduler; quota 8 nvidia.com/gpu. Cleanup left behind: ClusterQueue/cq.")
    assert gs.gang_notes({}, src).endswith("quota 8 nvidia.com/gpu.")
