# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""The judgement of ``verify_robust_controller``: an AI operator (KubeRay) runs, its CRDs are
established, its validating webhook refuses an invalid object, and a valid one is reconciled.

Each ``robust_controller_*_step`` filter takes what the role's tasks registered and the role's
settings (``verify_robust_controller_sources``) and returns one judged step for
``harness.conformance.evidence``'s ``step:`` (title, command, output, checks, files, facts). The
check texts are those the role wrote in Jinja before, so run records and notebooks read as they did.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.harness.conformance.plugins.filter.k8s_status import condition
from ansible_collections.harness.conformance.plugins.module_utils.k8s_results import (
    first as _first,
    jinja_truncate as _truncate,
    resources as _resources,
)

DOCUMENTATION = r"""
name: robust_controller_reconcile_step
short_description: The judged steps of verify_robust_controller (operator, CRDs, webhook, reconciliation)
version_added: "0.4.0"
description:
  - C(registered | harness.conformance.robust_controller_<step>_step(sources, ...)) returns one judged step
    for C(harness.conformance.evidence)'s C(step) option (C(title), C(command), C(output), C(checks), C(files),
    C(facts)); the steps are C(operator), C(crds), C(webhook) and C(reconcile).
positional: _input
options:
  _input:
    description: What the step's tasks registered (k8s_info and k8s results, the health probe).
    type: raw
    required: true
  sources:
    description: The role's settings (C(verify_robust_controller_sources)).
    type: dict
    required: true
"""

Obj = dict[str, Any]

#: the refusal an admission webhook's denial carries in the API server's message
DENIED = "denied the request"
NOT_CALLED = "failed calling webhook"


def robust_controller_operator_step(registered: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """Whether the operator runs. ``registered``: ``mode`` (lab-record or deployment), ``record`` (the lab's
    component record, {} when absent), ``alive`` (its pid is a live process), ``health`` (the registered
    health probe) and ``deployment`` (the registered Deployment read)."""
    mode = str(registered.get("mode"))
    if mode == "lab-record":
        record = registered.get("record") or {}
        health = registered.get("health") or {}
        status = health.get("status", "nothing") if isinstance(health, dict) and "status" in health else "nothing"
        alive = bool(registered.get("alive"))
        running = alive and status == 200
        if not record:
            seen = f"no component record at {sources['lab_record']} (the operator is not running)"
        else:
            seen = (f"pid {record.get('pid')}{' alive' if alive else ' gone'}, "
                    f"{record.get('health_url', 'no health URL')} answered {status}")  # fmt: skip
        command = f"cat {sources['lab_record']}; curl -s {record.get('health_url', '')}"
        expected = "a live process whose health endpoint answers 200"
    else:
        deploy = _first(registered.get("deployment"))
        running = condition(deploy, "Available") == "True"
        where = f"{sources['operator_namespace']}/{sources['operator_deployment']}"
        seen = (f"Deployment {where} not found" if not deploy else
                f"readyReplicas {(deploy.get('status') or {}).get('readyReplicas', 0)} of "
                f"{(deploy.get('spec') or {}).get('replicas', 1)}")  # fmt: skip
        command = f"kubectl get deployment -n {sources['operator_namespace']} {sources['operator_deployment']}"
        expected = "Deployment Available"
    return {
        "title": "The KubeRay operator runs",
        "command": command,
        "output": seen,
        "checks": [{"name": "Operator running", "status": "pass" if running else "fail",
                    "expected": expected, "observed": seen}],  # fmt: skip
        "facts": {"running": running},
    }


def robust_controller_crds_step(crd_reads: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """Whether every CRD of the operator is Established (``crd_reads``: the registered loop of reads)."""
    crds = [str(c) for c in sources["crds"]]
    established = [str(o["metadata"]["name"]) for r in (crd_reads or {}).get("results") or []
                   for o in _resources(r) if condition(o, "Established") == "True"]  # fmt: skip
    ok = len(established) == len(crds)
    return {
        "title": "The operator's CRDs are established",
        "command": f"kubectl get crd {' '.join(crds)}",
        "output": established,
        "checks": [{"name": "Operator CRDs established", "status": "pass" if ok else "fail",
                    "expected": f"{', '.join(crds)} Established",
                    "observed": f"Established: {', '.join(established) or 'none'}"}],  # fmt: skip
        "facts": {"established": established},
    }


def robust_controller_webhook_step(sent: dict[str, Any], invalid: Obj) -> dict[str, Any]:
    """Whether an admission webhook denied the invalid object (``sent``: the registered dry run)."""
    sent = sent if isinstance(sent, dict) else {}
    failed = bool(sent.get("failed"))
    msg = str(sent.get("msg") or "")
    denied = failed and DENIED in msg
    seen = f"refused: {_truncate(msg, 500)}" if failed else "accepted (the dry run succeeded)"
    message = "" if denied else (
        "the webhook could not be called, so it is not operational" if NOT_CALLED in seen
        else "no admission webhook denied the invalid object")  # fmt: skip
    return {
        "title": "The operator's validating webhook rejects an invalid RayCluster",
        "command": "kubectl create --dry-run=server -f raycluster-invalid.yaml",
        "output": seen,
        "checks": [{"name": "Webhook rejects an invalid RayCluster", "status": "pass" if denied else "fail",
                    "expected": "the admission webhook denies the request (duplicate worker group names)",
                    "observed": seen, "message": message}],  # fmt: skip
        "files": [{"name": "raycluster-invalid.yaml", "data": invalid}],
        "facts": {"denied": denied},
    }


def robust_controller_reconcile_step(registered: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """Whether the valid RayCluster became running head and worker pods and reached ``ready``.
    ``registered``: ``valid`` (the object applied), ``created`` (its registered apply), ``pods`` and
    ``cluster`` (the registered waits)."""
    created = registered.get("created") or {}
    made = not created.get("failed", False)
    cluster = _first(registered.get("cluster"))
    pods = _resources(registered.get("pods"))
    running = sorted(str(((p.get("metadata") or {}).get("labels") or {}).get("ray.io/node-type", "?"))
                     for p in pods if (p.get("status") or {}).get("phase") == "Running")  # fmt: skip
    want = sorted(["head"] + ["worker"] * int(sources["workers"]))
    state = (cluster.get("status") or {}).get("state")
    ns = sources["namespace"]
    return {
        "title": "A valid RayCluster is reconciled into running head and worker pods",
        "command": (f"kubectl get raycluster -n {ns} harness-ray -o yaml; "
                    f"kubectl get pods -n {ns} -l ray.io/cluster=harness-ray -L ray.io/node-type"),  # fmt: skip
        "output": {
            "state": state,
            "conditions": {c.get("type"): c.get("status") for c in (cluster.get("status") or {}).get("conditions") or []},
            "running_pods": running,
        },
        "checks": [
            {"name": "RayCluster head and worker pods created and running",
             "status": "pass" if running == want else "fail",
             "expected": f"running pods {', '.join(want)} within {sources['reconcile_timeout']}s",
             "observed": (f"RayCluster not created: {_truncate(created.get('msg', ''), 400)}" if not made
                          else f"running pods: {', '.join(running) or 'none'}")},
            {"name": "RayCluster reconciled to ready",
             "status": "pass" if state == "ready" else "fail",
             "expected": "status.state ready",
             "observed": "RayCluster not created" if not made else f"status.state {state or 'unset'}"},
        ],  # fmt: skip
        "files": [
            {"name": "raycluster-valid.yaml", "data": registered.get("valid") or {}},
            {"name": "raycluster-observed.yaml", "data": {"raycluster": cluster, "pods": pods}},
        ],
        "facts": {"state": state, "running_pods": running},
    }


class FilterModule:
    """harness.conformance filters of verify_robust_controller."""

    def filters(self) -> dict[str, Any]:
        return {
            "robust_controller_operator_step": robust_controller_operator_step,
            "robust_controller_crds_step": robust_controller_crds_step,
            "robust_controller_webhook_step": robust_controller_webhook_step,
            "robust_controller_reconcile_step": robust_controller_reconcile_step,
        }
