# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Whether an HPA scales GPU pods on a custom accelerator metric, step by step (``verify_pod_autoscaling``).

The role's lab notebook has five judged steps, each recorded by one ``harness.conformance.evidence``
task whose ``step:`` one of these filters returns (title, command, output, checks, files, facts):

- ``hpa_api_step``: a custom.metrics.k8s.io APIService is Available (looped APIService reads);
- ``hpa_deployment_step``: the GPU Deployment runs its minReplicas pods at low load;
- ``hpa_metric_step``: the HPA reads the metric (ScalingActive=True and a per-pod current value);
  ``hpa_scaling_skipped``: the two scaling checks skipped when it does not;
- ``hpa_phase_step``: raising the load scales up, lowering it scales back down.

``hpa_goal_met`` is what the waits poll for (the same test the step then judges, so a wait that
times out is judged by the rule it waited on); ``hpa_cleanup_targets`` and ``hpa_notes`` are the
cleanup's objects and the result's notes.

The settings (``sources``) are the role's defaults gathered in ``vars/main.yml``: ``namespace``,
``namespace_given``, ``api_versions``, ``metric_name``, ``target_average``, ``min_replicas`` and
``gpu_resource``. A load phase is ``{name: up|down, timeout, fragment}``.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.harness.conformance.plugins.module_utils.k8s_results import (
    first as _first,
    jinja_truncate as _truncate,
)

DOCUMENTATION = r"""
name: hpa_phase_step
short_description: The judged steps of verify_pod_autoscaling (an HPA on a custom accelerator metric)
version_added: "0.3.0"
description:
  - C(results | harness.conformance.hpa_api_step(sources)) judges the looped APIService reads.
  - C(result | harness.conformance.hpa_deployment_step(sources)) judges the Deployment at low load.
  - C(result | harness.conformance.hpa_metric_step(sources)) judges whether the HPA reads the metric;
    C(phases | harness.conformance.hpa_scaling_skipped) is the scaling it then does not try.
  - C(results | harness.conformance.hpa_phase_step(phase, sources, seconds)) judges a load phase from the
    looped HPA, Deployment and Pod reads.
  - C(result | harness.conformance.hpa_goal_met(goal, sources, kind)) is the condition a wait polls for.
  - C(sources | harness.conformance.hpa_cleanup_targets(created)) and
    C(cleanup | harness.conformance.hpa_notes(sources, simulated)) are the cleanup's objects and the notes.
positional: _input
options:
  _input:
    description: The registered k8s_info result(s) of the step (or what the filter's name says).
    type: raw
    required: true
  sources:
    description: >-
      The role's settings: C(namespace), C(namespace_given), C(api_versions), C(metric_name),
      C(target_average), C(min_replicas), C(gpu_resource).
    type: dict
    required: true
  phase:
    description: A load phase, C({name, timeout, fragment}) with C(name) up or down.
    type: dict
"""

GROUP = "custom.metrics.k8s.io"
NAME = "harness-hpa"
HPA = "HorizontalPodAutoscaler"

#: each load phase's notebook title and check name
PHASES: dict[str, tuple[str, str]] = {
    "up": ("Raising the load scales the Deployment up", "HPA scales up on a high metric"),
    "down": ("Lowering the load scales the Deployment back down", "HPA scales down on a low metric"),
}

SIMULATED_NOTE = (
    "GPUs are simulated: the DCGM series come from the lab's simulated exporter, whose GPU utilisation follows "
    "a pod annotation the role sets; the metrics pipeline (Prometheus, prometheus-adapter, the HPA controller) is real."
)


# --- reading the registered results ----------------------------------------------------------------


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, dict) else {}


def _conditions(obj: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [c for c in _status(obj).get("conditions") or [] if isinstance(c, dict) and c.get("type") == kind]


def _int(value: Any, default: int) -> int:
    """A replica count as the API gives it; a missing one counts as ``default``."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _pod_metrics(status: dict[str, Any]) -> list[dict[str, Any]]:
    """The HPA's current values of Pods metrics (the HPA controller leaves out a metric it cannot read)."""
    return [m for m in status.get("currentMetrics") or [] if isinstance(m, dict) and "pods" in m]


def _average(status: dict[str, Any]) -> Any:
    """The first Pods metric's current average value, as the notebook shows it ('none' when unread)."""
    for m in _pod_metrics(status):
        value = ((m.get("pods") or {}).get("current") or {}).get("averageValue")
        return "none" if value is None else value
    return "none"


def _without_managed_fields(value: Any) -> Any:
    """managedFields say who wrote which field, nothing about scaling: left out of the evidence files."""
    if isinstance(value, dict):
        return {k: _without_managed_fields(v) for k, v in value.items() if k != "managedFields"}
    if isinstance(value, list):
        return [_without_managed_fields(v) for v in value]
    return value


def _running(pods: list[dict[str, Any]]) -> list[str]:
    """Names of the pods that run and are not being deleted (a scale-down's leavers do not count)."""
    return [str((p.get("metadata") or {}).get("name")) for p in pods
            if "deletionTimestamp" not in (p.get("metadata") or {}) and _status(p).get("phase") == "Running"]  # fmt: skip


def reads_metric(status: dict[str, Any]) -> bool:
    """The HPA computes replicas from the metric: ScalingActive=True and a current per-pod value."""
    active = any(str(c.get("status")) == "True" for c in _conditions({"status": status}, "ScalingActive"))
    return bool(_pod_metrics(status)) and active


# --- the waits ---------------------------------------------------------------------------------------


def hpa_goal_met(result: Any, goal: str, sources: dict[str, Any], kind: str = "") -> bool:
    """Whether a wait is over. ``goal``: ``ready`` (the Deployment runs minReplicas pods), ``metric`` (the
    HPA reads the metric), ``up`` / ``down`` (of the HPA's desired count or, with ``kind`` Deployment, of
    its pods; any other kind, the pods read last, is not waited on)."""
    status = _status(_first(result))
    low = _int(sources["min_replicas"], 1)
    if goal == "ready":
        return _int(status.get("readyReplicas"), 0) >= low
    if goal == "metric":
        return reads_metric(status)
    up = goal == "up"
    if kind == HPA:
        desired = _int(status.get("desiredReplicas"), 0 if up else -1)
        return desired > low if up else desired == low
    if kind == "Deployment":
        ready = _int(status.get("readyReplicas"), 0)
        return ready > low if up else (_int(status.get("replicas"), -1) == low and ready == low)
    return True


# --- the judged steps --------------------------------------------------------------------------------


def _condition_lines(objs: list[dict[str, Any]], kind: str) -> list[str]:
    return [f"{(o.get('metadata') or {}).get('name')} {kind}={c.get('status')} {c.get('message', '')}"
            for o in objs for c in _conditions(o, kind)]  # fmt: skip


def hpa_api_step(results: list[dict[str, Any]], sources: dict[str, Any]) -> dict[str, Any]:
    """custom.metrics.k8s.io is served when any looked-for version's APIService is Available; facts.served."""
    results = [r for r in results or [] if isinstance(r, dict)]
    available = [f"{r.get('item')}.{GROUP}" for r in results
                 if any(str(c.get("status")) == "True" for c in _conditions(_first(r), "Available"))]  # fmt: skip
    seen = _condition_lines([o for r in results for o in r.get("resources") or [] if isinstance(o, dict)], "Available")
    served = bool(available)
    wanted = " or ".join(f"{v}.{GROUP}" for v in sources["api_versions"])
    return {
        "title": f"{GROUP} is served",
        "command": f"kubectl get apiservices | grep {GROUP}",
        "output": seen,
        "checks": [{
            "name": "Custom metrics API served",
            "status": "pass" if served else "fail",
            "expected": f"an APIService {wanted} Available",
            "observed": (f"Available: {', '.join(available)}" if served
                         else f"none Available ({'; '.join(seen) or 'no APIService registered'})"),
            "message": "" if served else "custom metrics API not served",
        }],
        "facts": {"served": served},
    }  # fmt: skip


def hpa_deployment_step(result: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """The GPU Deployment runs minReplicas ready pods; facts.ready. A lab that cannot run the pods is
    not the HPA's fault, so that is an error (could not tell), not a fail."""
    status = _status(_first(result))
    ready = status.get("readyReplicas", 0)
    ok = _int(ready, 0) >= _int(sources["min_replicas"], 1)
    return {
        "title": "A Deployment whose pods request a GPU runs at low load",
        "command": f"kubectl get deployment -n {sources['namespace']} {NAME}",
        "output": status,
        "checks": [{
            "name": "GPU Deployment available",
            "status": "pass" if ok else "error",
            "expected": f"{sources['min_replicas']} ready pod(s), each with 1 {sources['gpu_resource']}",
            "observed": f"{ready} ready",
        }],
        "facts": {"ready": ok},
    }  # fmt: skip


def hpa_metric_step(result: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """The HPA reads the metric from custom.metrics.k8s.io; facts.reading (the scaling is tried only then)."""
    status = _status(_first(result))
    ok = reads_metric(status)
    metric = sources["metric_name"]
    ns = sources["namespace"]
    active = _conditions({"status": status}, "ScalingActive")
    why = str(active[0].get("message", "")) if active else "no ScalingActive condition"
    return {
        "title": f"The HPA reads {metric} from {GROUP}",
        "command": (f'kubectl get --raw "/apis/{GROUP}/v1beta1/namespaces/{ns}/pods/*/{metric}"; '
                    f"kubectl describe hpa -n {ns} {NAME}"),
        "output": status,
        "checks": [{
            "name": "HPA reads the custom metric",
            "status": "pass" if ok else "fail",
            "expected": f"ScalingActive=True and a current value of {metric} per pod",
            "observed": f"current average {_average(status)}; ScalingActive: {_truncate(why, 400)}",
            "message": "" if ok else f"the custom metrics API does not serve {metric} for the pods",
        }],
        "facts": {"reading": ok},
    }  # fmt: skip


def hpa_scaling_skipped(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """The load phases' checks when the HPA cannot read the metric: skipped, since raising a load the HPA
    cannot see proves nothing about its scaling."""
    reason = "not reached - the HPA cannot read the metric"
    return {
        "title": "Scaling not tried",
        "checks": [{"name": PHASES[str(p["name"])][1], "status": "skip", "message": reason} for p in phases],
    }


def hpa_phase_step(results: list[dict[str, Any]], phase: dict[str, Any], sources: dict[str, Any],
                   seconds: float) -> dict[str, Any]:  # fmt: skip
    """A load phase, from the looped reads of the HPA, the Deployment and its pods (in that order) after the
    wait: up needs a desired count above minReplicas and the new pods ready and Running; down needs the
    desired count and the Deployment back at minReplicas. Saves what it saw."""
    hpa_res, dep_res, pods_res = (list(results or []) + [{}, {}, {}])[:3]
    hpa = _first(hpa_res)
    hpa_now, dep_now = _status(hpa), _status(_first(dep_res))
    pods = [p for p in (pods_res.get("resources") if isinstance(pods_res, dict) else None) or [] if isinstance(p, dict)]
    running = _running(pods)
    low = _int(sources["min_replicas"], 1)
    name = str(phase["name"])
    title, check = PHASES[name]
    if name == "up":
        ok = (_int(hpa_now.get("desiredReplicas"), 0) > low and _int(dep_now.get("readyReplicas"), 0) > low
              and len(running) > low)  # fmt: skip
        expected = f"desiredReplicas > {sources['min_replicas']} and the new pods Running"
    else:
        ok = _int(hpa_now.get("desiredReplicas"), -1) == low and _int(dep_now.get("replicas"), -1) == low
        expected = f"back to {sources['min_replicas']} replica(s)"
    seconds = round(float(seconds), 1)
    ns = sources["namespace"]
    return {
        "title": title,
        "command": f"kubectl get hpa -n {ns} {NAME}; kubectl get pods -n {ns} -l app={NAME}",
        "output": {
            "current_metrics": hpa_now.get("currentMetrics", []),
            "desired_replicas": hpa_now.get("desiredReplicas"),
            "deployment_replicas": dep_now.get("replicas"),
            "ready_replicas": dep_now.get("readyReplicas"),
            "running_pods": running,
            "seconds": seconds,
        },
        "checks": [{
            "name": check,
            "status": "pass" if ok else "fail",
            "expected": f"{expected} within {phase['timeout']}s",
            "observed": (f"desired {hpa_now.get('desiredReplicas', '?')}, deployment {dep_now.get('replicas', '?')} "
                         f"({dep_now.get('readyReplicas', 0)} ready, {len(running)} running) after {seconds}s; "
                         f"metric {_average(hpa_now)}"),
        }],
        "files": [{
            "name": f"scale-{name}-observed.yaml",
            "data": _without_managed_fields({"hpa": hpa, "deployment_status": dep_now, "pods": pods}),
        }],
        "facts": {"scaled": ok},
    }  # fmt: skip


# --- cleanup and notes -------------------------------------------------------------------------------


def hpa_cleanup_targets(sources: dict[str, Any], created: bool) -> list[dict[str, str]]:
    """What cleanup deletes: the role's own namespace when it made one (``created``), or only its HPA and
    Deployment in a namespace it was given (the namespace is someone else's)."""
    ns = str(sources["namespace"])
    if sources.get("namespace_given"):
        return [{"api_version": "autoscaling/v2", "kind": HPA, "namespace": ns, "name": NAME},
                {"api_version": "apps/v1", "kind": "Deployment", "namespace": ns, "name": NAME}]  # fmt: skip
    return [{"api_version": "v1", "kind": "Namespace", "name": ns}] if created else []


def hpa_notes(cleanup: Any, sources: dict[str, Any], simulated: bool = False) -> str:
    """The result's notes: what was scaled on, that the GPUs were simulated, and a cleanup that did not finish."""
    notes = [f"HPA (autoscaling/v2) on the Pods metric {sources['metric_name']} from {GROUP}, "
             f"target average {sources['target_average']} per pod."]  # fmt: skip
    if simulated:
        notes.append(SIMULATED_NOTE)
    results = cleanup.get("results") if isinstance(cleanup, dict) else None
    if any(isinstance(r, dict) and r.get("failed") for r in results or []):
        notes.append(f"Cleanup did not finish in {sources['namespace']}.")
    return " ".join(notes)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "hpa_goal_met": hpa_goal_met,
            "hpa_api_step": hpa_api_step,
            "hpa_deployment_step": hpa_deployment_step,
            "hpa_metric_step": hpa_metric_step,
            "hpa_scaling_skipped": hpa_scaling_skipped,
            "hpa_phase_step": hpa_phase_step,
            "hpa_cleanup_targets": hpa_cleanup_targets,
            "hpa_notes": hpa_notes,
        }
