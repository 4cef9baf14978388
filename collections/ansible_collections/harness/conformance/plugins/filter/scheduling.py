# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Whether Kueue schedules a Job's pods all together or not at all (``verify_gang_scheduling``).

The role makes a ClusterQueue with a GPU quota and two Jobs labelled with its LocalQueue: one that
fits the quota (PositiveGangScheduling: admitted, every pod bound, the Job completes) and one that
needs more GPUs than the quota (NegativeGangScheduling: stays suspended, no pod bound during the
window). Each filter below judges one notebook step from what the role's tasks registered and
returns the step for ``harness.conformance.evidence``'s ``step:`` (title, command, output, checks,
files, facts), so the role holds no judgement in Jinja.

- ``gang_workload``: the Workload Kueue made for a created Job (the wait's ``until``);
- ``gang_finished``: whether a read Job has Complete or Failed (the wait's ``until``);
- ``gang_api``, ``gang_queue``, ``gang_admission``, ``gang_positive``, ``gang_negative``: the steps;
- ``gang_cleanup``: what the role deletes; ``gang_notes``: the result's notes.
"""

from __future__ import annotations

import json
from typing import Any

from ansible_collections.harness.conformance.plugins.module_utils.k8s_results import (
    jinja_truncate as _truncate,
    resources as _resources,
)

DOCUMENTATION = r"""
name: gang_api
short_description: The judged steps of verify_gang_scheduling (Kueue admits a Job's pods all or none)
version_added: "0.3.0"
description:
  - C(crds.results | harness.conformance.gang_api(sources)) judges whether Kueue's four CRDs are Established.
  - C(applied | harness.conformance.gang_queue(cq, lq, sources)) judges the ResourceFlavor, ClusterQueue and LocalQueue.
  - C(workloads | harness.conformance.gang_admission(created, sources)) judges the admission of the Job that fits.
  - C(job | harness.conformance.gang_positive(pods, admission, sources)) judges its pods and its completion.
  - C(read.results | harness.conformance.gang_negative(pods, created, window_start, now, sources)) judges the Job
    that exceeds the quota.
  - Each returns a step for C(harness.conformance.evidence) (C(title), C(command), C(output), C(checks), C(files),
    C(facts)).
  - C(workloads | harness.conformance.gang_workload(created)) is the Workload of a created Job (or C({})).
  - C(jobs | harness.conformance.gang_finished) is true once the Job has Complete or Failed.
  - C(sources | harness.conformance.gang_cleanup(api_ok)) lists the objects the role deletes;
    C(cleanup | harness.conformance.gang_notes(sources, simulated)) writes the result's notes.
positional: _input
options:
  _input:
    description: The registered result (or its C(results)/C(resources)) the step is judged from.
    type: raw
    required: true
  sources:
    description: >-
      The role's settings (C(verify_gang_scheduling_sources)): C(namespace), C(cluster_name), C(queue_name),
      C(job_queue), C(create_queue), C(own_namespace), C(api_version), C(gpu_resource), C(quota_gpu),
      C(quota_cpu), C(quota_memory), C(gpus_per_pod), C(positive_pods), C(negative_pods), C(expected_labels),
      C(admit_timeout), C(complete_timeout), C(negative_window), C(poll_interval).
    type: dict
    required: true
"""

#: Kueue's kinds the role uses, as their CRDs are named (the notebook's command names the group as Kueue's own)
KUEUE_CRDS = ("resourceflavors", "clusterqueues", "localqueues", "workloads")
NOT_REACHED = "not reached: the Job was not admitted"


def _conditions(obj: Any) -> list[dict[str, Any]]:
    status = (obj.get("status") or {}) if isinstance(obj, dict) else {}
    return [c for c in status.get("conditions") or [] if isinstance(c, dict)]


def _condition_map(obj: Any) -> dict[str, Any]:
    """``{type: status}`` of an object's conditions (what Jinja's items2dict gave)."""
    return {str(c.get("type")): c.get("status") for c in _conditions(obj)}


def _true(obj: Any, kind: str) -> bool:
    return _condition_map(obj).get(kind) == "True"


def _first(objs: list[dict[str, Any]]) -> dict[str, Any]:
    return objs[0] if objs else {}


def _without_managed_fields(value: Any) -> Any:
    """A copy without ``managedFields`` at any depth: noise a reviewer never needs in the evidence."""
    if isinstance(value, dict):
        return {k: _without_managed_fields(v) for k, v in value.items() if k != "managedFields"}
    if isinstance(value, list):
        return [_without_managed_fields(v) for v in value]
    return value


def _labels_missing(obj: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    have = (obj.get("metadata") or {}).get("labels") or {}
    return [k for k, v in (expected or {}).items() if have.get(k) != v]


def _labels_observed(missing: list[str]) -> str:
    return "all present" if not missing else "missing or changed: " + ", ".join(missing)


def _suspend(job: dict[str, Any], missing: Any = "?") -> Any:
    return (job.get("spec") or {}).get("suspend", missing)


def _bound(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pods the scheduler bound to a node: what gang scheduling is about."""
    return [p for p in pods if (p.get("spec") or {}).get("nodeName")]


def _names(objs: list[dict[str, Any]]) -> list[str]:
    return [str((o.get("metadata") or {}).get("name")) for o in objs]


def _created_uid(created: Any) -> str:
    return str((((created or {}).get("result") or {}).get("metadata") or {}).get("uid") or "-")


def _created_error(created: Any) -> str:
    return "Job not created: " + _truncate(str((created or {}).get("msg", "")), 400)


def _created_by_name(created: Any, name: str) -> dict[str, Any]:
    """The loop result of the Jobs' creation for one Job ({} when it was not attempted)."""
    for r in (created or {}).get("results") or []:
        if isinstance(r, dict) and ((r.get("item") or {}).get("metadata") or {}).get("name") == name:
            return dict(r)
    return {}


def gang_workload(workloads: Any, created: Any) -> dict[str, Any]:
    """The Workload Kueue made for a created Job: the one its owner reference points at, by uid (a
    Workload of an earlier Job of the same name is not it)."""
    objs = workloads if isinstance(workloads, list) else _resources(workloads)
    uid = _created_uid(created)
    for w in objs:
        owners = (w.get("metadata") or {}).get("ownerReferences") or []
        if owners and owners[0].get("uid") == uid:
            return w
    return {}


def gang_finished(jobs: Any) -> bool:
    """Whether the Job ended either way (Complete or Failed): the completion wait stops on both."""
    return any(_true(j, "Complete") or _true(j, "Failed") for j in jobs or [] if isinstance(j, dict))


def gang_api(results: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """Kueue's API is served when its four CRDs are Established; nothing else runs without it."""
    established = [r.get("item") for r in results or []
                   if isinstance(r, dict) and _true(_first(_resources(r)), "Established")]  # fmt: skip
    ok = len(established) == len(KUEUE_CRDS)
    return {
        "title": "Kueue's API is served",
        "command": "kubectl get crd " + " ".join(f"{k}.kueue.x-k8s.io" for k in KUEUE_CRDS),
        "output": established,
        "checks": [{
            "name": "Kueue CRDs established",
            "status": "pass" if ok else "fail",
            "expected": ", ".join(KUEUE_CRDS) + " Established",
            "observed": "Established: " + (", ".join(map(str, established)) or "none"),
            "message": "" if ok else "Kueue is not installed (or its CRDs are not established)",
        }],  # fmt: skip
        "facts": {"api_ok": ok},
    }


def gang_queue(applied: Any, cq: Any, lq: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """The queue is usable when every object was accepted, the LocalQueue exists and the ClusterQueue
    the role made is Active (a LocalQueue the platform has is taken as it is)."""
    results = [r for r in (applied or {}).get("results") or [] if isinstance(r, dict)]
    errors = [_truncate(str(r.get("msg", "")), 400) for r in results if r.get("failed")]
    cq_obj = _first(_resources(cq))
    active = _true(cq_obj, "Active")
    lq_found = bool(_resources(lq))
    ok = not errors and lq_found and (active or not sources["create_queue"])
    ns, queue, cluster = sources["namespace"], sources["queue_name"], sources["cluster_name"]
    return {
        "title": f"A ClusterQueue with a {sources['quota_gpu']}-GPU quota and a LocalQueue",
        "command": f"kubectl get clusterqueue {cluster} -o yaml; kubectl get localqueue -n {ns} {queue}",
        "output": cq_obj.get("status", "no ClusterQueue made"),
        "checks": [{
            "name": "Queue objects accepted and ClusterQueue active",
            "status": "pass" if ok else "fail",
            "expected": f"ResourceFlavor, ClusterQueue ({sources['quota_gpu']} {sources['gpu_resource']}, "
                        f"cpu {sources['quota_cpu']}, memory {sources['quota_memory']}) Active, LocalQueue {ns}/{queue}",
            "observed": ("errors: " + "; ".join(errors)) if errors
                        else f"ClusterQueue active: {active}, LocalQueue found: {lq_found}",
        }],  # fmt: skip
        "files": [{"name": "queue-applied.yaml", "data": [r.get("item") for r in results]}],
    }


def gang_admission(workloads: Any, created: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """PositiveGangScheduling, first half: Kueue admits the Job that fits the quota. The Workload's
    other conditions (and their messages) say why when it does not."""
    pos = _created_by_name(created, "pos-job")
    workload = gang_workload(workloads, pos)
    conds = _condition_map(workload)
    admitted = conds.get("Admitted") == "True"
    why = [str(c.get("message") or "") for c in _conditions(workload) if c.get("status") != "True"]
    why = [m for m in why if m]
    if pos.get("failed"):
        observed = _created_error(pos)
    else:
        observed = "conditions " + json.dumps(conds) + (f" ({_truncate('; '.join(why), 300)})" if why else "")
    return {
        "title": f"PositiveGangScheduling: a {sources['positive_pods']}-pod Job that fits the quota is admitted",
        "command": f"kubectl get workloads -n {sources['namespace']} -o yaml",
        "output": workload.get("status", pos.get("msg", "no Workload")),
        "checks": [{
            "name": "PositiveGangScheduling: Job admitted by the gang scheduler",
            "status": "pass" if admitted else "fail",
            "expected": f"Workload of pos-job Admitted=True within {sources['admit_timeout']}s",
            "observed": observed,
            "message": "" if admitted else f"queue {sources['job_queue']}: the Job that fits the quota was never admitted",
        }],  # fmt: skip
        "files": [{"name": "jobs-applied.yaml",
                   "data": _without_managed_fields([r.get("item") for r in (created or {}).get("results") or []])}],
        "facts": {"admitted": admitted, "workload": workload},
    }


def gang_positive(job: Any, pods: Any, admission: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """PositiveGangScheduling, second half: the admitted Job is unsuspended, all its pods are bound
    and it completes, its labels kept. Not admitted, the first two were not reached (skip)."""
    obj = _first(_resources(job))
    pod_objs = _resources(pods)
    bound = _bound(pod_objs)
    nodes = list(dict.fromkeys(str(p["spec"]["nodeName"]) for p in bound))
    job_true = [str(c.get("type")) for c in _conditions(obj) if c.get("status") == "True"]
    missing = _labels_missing(obj, sources["expected_labels"])
    admitted = bool((admission or {}).get("admitted"))
    all_bound = len(bound) >= int(sources["positive_pods"]) and _suspend(obj, False) is not True
    not_reached = "" if admitted else NOT_REACHED
    ns = sources["namespace"]
    return {
        "title": "PositiveGangScheduling: every pod is bound and the Job completes",
        "command": f"kubectl get pods -n {ns} -l batch.kubernetes.io/job-name=pos-job -o wide; "
                   f"kubectl get job -n {ns} pos-job -o yaml",
        "output": {"suspend": _suspend(obj, None), "bound_pods": _names(bound), "nodes": nodes,
                   "job_conditions": job_true, "labels": (obj.get("metadata") or {}).get("labels") or {}},
        "checks": [
            {"name": "PositiveGangScheduling: Job unsuspended and every pod bound to a node",
             "status": ("pass" if all_bound else "fail") if admitted else "skip",
             "expected": f"suspend=false, {sources['positive_pods']} pods with a nodeName",
             "observed": f"suspend={_suspend(obj)}, {len(bound)} bound on {', '.join(nodes) or 'no node'}",
             "message": not_reached},
            {"name": "PositiveGangScheduling: Job completes",
             "status": ("pass" if "Complete" in job_true else "fail") if admitted else "skip",
             "expected": f"condition Complete=True within {sources['complete_timeout']}s",
             "observed": "conditions True: " + (", ".join(job_true) or "none"),
             "message": not_reached},
            {"name": "PositiveGangScheduling: Job labels preserved",
             "status": "skip" if not obj else ("pass" if not missing else "fail"),
             "expected": json.dumps(sources["expected_labels"]),
             "observed": "the Job does not exist" if not obj else _labels_observed(missing)},
        ],  # fmt: skip
        "files": [{"name": "positive-observed.yaml", "data": _without_managed_fields(
            {"job": obj, "workload": (admission or {}).get("workload") or {}, "pods": pod_objs})}],
    }


def gang_negative(read: Any, pods: Any, created: Any, window_start: Any, now: Any,
                  sources: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """NegativeGangScheduling: the Job that needs more GPUs than the quota stays suspended, its
    Workload not admitted, and not one of its pods is bound during the window (all or nothing)."""
    results = [r for r in read or [] if isinstance(r, dict)]
    jobs = _resources(results[0]) if results else []
    workloads = _resources(results[1]) if len(results) > 1 else []
    obj = next((j for j in jobs if (j.get("metadata") or {}).get("name") == "neg-job"), {})
    neg = _created_by_name(created, "neg-job")
    workload = gang_workload(workloads, neg)
    pod_objs = _resources(pods)
    bound = _names(_bound(pod_objs))
    conds = _condition_map(workload)
    reason = next((str(c.get("message") or "") for c in _conditions(workload) if c.get("type") == "QuotaReserved"), "")
    missing = _labels_missing(obj, sources["expected_labels"])
    window_s = round(float(now) - float(window_start), 1)
    made = bool(obj)
    size = int(sources["negative_pods"])
    ns = sources["namespace"]
    return {
        "title": f"NegativeGangScheduling: a {size}-pod Job that exceeds the quota gets no pod at all",
        "command": f"kubectl get job -n {ns} neg-job -o jsonpath='{{.spec.suspend}}'; "
                   f"kubectl get pods -n {ns} -l batch.kubernetes.io/job-name=neg-job -o wide "
                   f"(polled every {sources['poll_interval']}s for {sources['negative_window']}s)",
        "output": {"suspend": _suspend(obj, None), "pods": _names(pod_objs), "bound_pods": bound,
                   "workload_conditions": conds, "quota_reserved_message": reason, "window_seconds": window_s},
        "checks": [
            {"name": "NegativeGangScheduling: no pod bound during the window",
             "status": "fail" if not made or bound else "pass",
             "expected": f"0 of {size} pods ({size * int(sources['gpus_per_pod'])} GPUs > quota {sources['quota_gpu']}) "
                         f"bound for {sources['negative_window']}s",
             "observed": _created_error(neg) if not made
                         else f"{len(bound)} bound ({len(pod_objs)} pods exist) over {window_s}s"},
            {"name": "NegativeGangScheduling: Job stays suspended, not admitted",
             "status": "pass" if made and _suspend(obj, False) and conds.get("Admitted") != "True" else "fail",
             "expected": "spec.suspend=true, Workload not Admitted",
             "observed": f"suspend={_suspend(obj)}, Workload conditions {json.dumps(conds)}"},
            {"name": "NegativeGangScheduling: Job labels preserved",
             "status": "skip" if not made else ("pass" if not missing else "fail"),
             "expected": json.dumps(sources["expected_labels"]),
             "observed": _labels_observed(missing)},
        ],  # fmt: skip
        "files": [{"name": "negative-observed.yaml", "data": _without_managed_fields(
            {"job": obj, "workload": workload, "pods": pod_objs, "window_seconds": window_s,
             "polls": (pods or {}).get("attempts", 0) if isinstance(pods, dict) else 0})}],
    }


def gang_cleanup(sources: dict[str, Any], api_ok: bool) -> list[dict[str, Any]]:
    """What the role deletes: its own namespace (Jobs, Workloads and LocalQueue go with it), else the
    two Jobs in the namespace it was given; then the ClusterQueue and ResourceFlavor it made (only
    when Kueue's API was there to make them)."""
    if sources["own_namespace"]:
        objs = [{"api_version": "v1", "kind": "Namespace", "name": sources["namespace"]}]
    else:
        objs = [{"api_version": "batch/v1", "kind": "Job", "namespace": sources["namespace"], "name": name,
                 "delete_options": {"propagationPolicy": "Background"}} for name in ("pos-job", "neg-job")]  # fmt: skip
    if sources["create_queue"] and api_ok:
        objs += [{"api_version": sources["api_version"], "kind": kind, "name": sources["cluster_name"]}
                 for kind in ("ClusterQueue", "ResourceFlavor")]  # fmt: skip
    return objs


def gang_notes(cleanup: Any, sources: dict[str, Any], simulated: bool = False) -> str:
    """The result's notes: the scheduler and quota under test, that GPUs were simulated, and what the
    cleanup could not delete (a reviewer must know what the run left in the cluster)."""
    notes = [f"Kueue {sources['api_version']} as gang scheduler; quota {sources['quota_gpu']} {sources['gpu_resource']}."]
    if simulated:
        notes.append("GPUs are simulated (kwok nodes): Job pods are bound by the real kube-scheduler "
                     "and run/complete as kwok stages.")  # fmt: skip
    left = [f"{(r.get('item') or {}).get('kind')}/{(r.get('item') or {}).get('name')}"
            for r in ((cleanup or {}).get("results") or []) if isinstance(r, dict) and r.get("failed")]  # fmt: skip
    if left:
        notes.append(f"Cleanup left behind: {', '.join(left)}.")
    return " ".join(notes)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "gang_workload": gang_workload,
            "gang_finished": gang_finished,
            "gang_api": gang_api,
            "gang_queue": gang_queue,
            "gang_admission": gang_admission,
            "gang_positive": gang_positive,
            "gang_negative": gang_negative,
            "gang_cleanup": gang_cleanup,
            "gang_notes": gang_notes,
        }
