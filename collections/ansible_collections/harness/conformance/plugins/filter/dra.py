# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""What ResourceSlices publish, and the judged steps of ``verify_dra_support``.

A device is named as the scheduler names an allocation result: ``<driver>/<pool>/<device>``.

Each ``dra_*_step`` filter takes what the role's tasks registered and the role's settings
(``verify_dra_support_sources``: ``api_version``, ``resources``, ``driver``, ``device_class``,
``namespace``, ``timeout``) and returns one step of the lab notebook for
``harness.conformance.evidence``'s ``step:``: title, command, output, checks, files and facts.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.harness.conformance.plugins.filter.probes import (
    claim_device_checks,
    container_nodes,
    needs_accelerator,
)
from ansible_collections.harness.conformance.plugins.module_utils.dra_devices import device_id
from ansible_collections.harness.conformance.plugins.module_utils.k8s_results import evidence_file, stored

DOCUMENTATION = r"""
name: slice_device_ids
short_description: The devices ResourceSlices publish, and the judged steps of verify_dra_support
version_added: "0.3.0"
description:
  - C(slices | harness.conformance.slice_device_ids) lists C(<driver>/<pool>/<device>) of every published device.
  - C(slices | harness.conformance.slice_summaries) gives each slice's name, driver, node, pool and device count.
  - C(apis | harness.conformance.dra_api_step(sources)) judges the API discovery (C(k8s_cluster_info)'s I(apis)).
  - C(reads | harness.conformance.dra_published_step(sources)) judges the ResourceSlices and the DeviceClass
    (the results of one C(k8s_info) loop over C(ResourceSlice), C(DeviceClass), ...); facts C(class_found).
  - C(probe_results | harness.conformance.dra_probe_step(pods, nodes, sources)) judges what the probe container saw.
  - C(reads | harness.conformance.dra_allocation_step(applied, slices, sources)) judges the pod and its claim
    (the results of one C(k8s_info) loop over C(Pod), C(ResourceClaim)).
positional: _input
options:
  _input:
    description: ResourceSlice objects, or what the role's tasks registered, depending on the filter.
    type: raw
    required: true
"""

API_COMMAND = "kubectl api-versions | grep resource.k8s.io; kubectl api-resources --api-group=resource.k8s.io"
PROBE_POD = "claimed"


def slice_device_ids(slices: list[dict[str, Any]] | None) -> list[str]:
    return [device_id(s["spec"]["driver"], s["spec"]["pool"]["name"], d["name"])
            for s in slices or [] for d in s["spec"].get("devices") or []]  # fmt: skip


def slice_summaries(slices: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"name": s["metadata"]["name"], "driver": s["spec"]["driver"], "node": s["spec"].get("nodeName", ""),
             "pool": s["spec"]["pool"]["name"], "devices": len(s["spec"].get("devices") or [])} for s in slices or []]  # fmt: skip


def _check(name: str, ok: bool, expected: Any, observed: Any, message: str | None = None) -> dict[str, Any]:
    """A check record; ``message`` is left out when the role's check had none (the record keeps its shape)."""
    check = {"name": name, "status": "pass" if ok else "fail", "expected": expected, "observed": observed}
    if message is not None:
        check["message"] = message
    return check


def _by_kind(reads: Any) -> dict[str, list[dict[str, Any]]]:
    """The objects of a ``k8s_info`` loop over kinds, by kind; a skipped or failed read gives none."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in stored(reads) or []:
        kind = str(((r or {}).get("item") or {}).get("kind", ""))
        out[kind] = list(r.get("resources") or [])
    return out


def dra_api_step(apis: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """The API discovery: the resource.k8s.io versions served, and the resources the wanted version lists
    (sub-resources folded into their resource). ``facts.api_ok``: whether the wanted version is served, so
    the role reads nothing of an API that is not there."""
    apis = apis or {}
    version = str(sources["api_version"])
    wanted = list(sources["resources"] or [])
    served = sorted(k for k in apis if re.match(r"resource\.k8s\.io/", str(k)))
    listed = sorted(dict.fromkeys(str(r.get("name", "")).split("/")[0] for r in (apis.get(version) or {}).values()))
    missing = [r for r in dict.fromkeys(wanted) if r not in listed]
    return {
        "title": "The DRA API is discoverable",
        "command": API_COMMAND,
        "output": {"served": served, "resources": listed},
        "checks": [
            _check(f"{version} is served", version in apis, version, served),
            _check("DeviceClasses, ResourceClaims, ResourceClaimTemplates and ResourceSlices are listed", not missing,
                   wanted, listed, f"missing: {', '.join(missing)}" if missing else ""),
        ],
        "facts": {"api_ok": version in apis},
    }


def dra_published_step(reads: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """The driver's ResourceSlices publish devices and the DeviceClass exists. ``facts.class_found``: the
    role only makes a claim of a class that exists. An empty ``driver`` counts the slices of any driver."""
    objs = _by_kind(reads)
    slices, classes = objs.get("ResourceSlice", []), objs.get("DeviceClass", [])
    driver, device_class = str(sources.get("driver") or ""), str(sources["device_class"])
    mine = [s for s in slices if not driver or (s.get("spec") or {}).get("driver") == driver]
    devices = [d for s in mine for d in (s.get("spec") or {}).get("devices") or []]
    found = len(classes) > 0
    return {
        "title": "Devices are published and a DeviceClass selects them",
        "command": f"kubectl get resourceslices -o wide; kubectl get deviceclass {device_class} -o yaml",
        "output": {"slices": slice_summaries(slices), "deviceclass": [c["metadata"]["name"] for c in classes]},
        "files": [evidence_file("resourceslices.yaml", slices), {"name": "deviceclass.yaml", "data": classes}],
        "checks": [
            _check(f"At least one ResourceSlice of driver {driver or '(any)'} publishes devices", len(devices) > 0,
                   ">= 1 device in a ResourceSlice", f"{len(mine)} slices, {len(devices)} devices"),
            _check(f"DeviceClass {device_class} exists", found, "present", "present" if found else "absent"),
        ],
        "facts": {"class_found": found},
    }


def dra_probe_step(probe_results: Any, pods: Any, nodes: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """What the ``claimed`` probe container saw of its allocated device. Without a node that runs
    containers and has a device of the driver, nothing was probed: the check is skipped, needs hardware."""
    probed = bool(pods)
    results = probe_results or {}
    if probed:
        checks = claim_device_checks(results, PROBE_POD)
    else:
        checks = needs_accelerator(
            "The container sees the allocated device",
            "the allocated GPU (/dev/nvidia<N>) inside the container, and nvidia-smi -L lists its UUID",
            "on a node that runs containers, the container would list /dev/nvidia[0-9]* and nvidia-smi -L would name "
            "the allocated device", container_nodes(nodes))
    return {
        "title": "The container sees the allocated device",
        "command": f"kubectl -n {sources['namespace']} logs {PROBE_POD} (probe - ls /dev/nvidia[0-9]*; nvidia-smi -L)",
        "output": results if probed else "not probed",
        "files": [{"name": "probes.yaml", "data": results}] if probed else [],
        "checks": checks,
    }


def _unschedulable(pod: dict[str, Any]) -> str:
    """The scheduler's message on a pod it could not place ('' when it placed it or said nothing)."""
    return next((str(c.get("message", "")) for c in (pod.get("status") or {}).get("conditions") or []
                 if c.get("type") == "PodScheduled" and c.get("status") == "False"), "")  # fmt: skip


def dra_allocation_step(reads: Any, applied: Any, slices: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """The scheduler allocated the pod's claim a device the driver publishes, reserved the claim for the pod,
    and the pod runs. The claim judged is the one saved (the namespace holds only the pod's)."""
    objs = _by_kind(reads)
    pod = (objs.get("Pod") or [{}])[0] or {}
    claim = (objs.get("ResourceClaim") or [{}])[0] or {}
    ns, driver = sources["namespace"], str(sources.get("driver") or "")
    results = ((((claim.get("status") or {}).get("allocation") or {}).get("devices") or {}).get("results")) or []
    allocated = [f"{r['driver']}/{r['pool']}/{r['device']}" for r in results]
    published = set(slice_device_ids(slices))
    phase = str((pod.get("status") or {}).get("phase") or "(no pod)")
    reserved = [r.get("uid") for r in (claim.get("status") or {}).get("reservedFor") or []]
    uid = str((pod.get("metadata") or {}).get("uid") or "")
    why = _unschedulable(pod)
    running = phase == "Running"
    of_driver = not driver or all(r.get("driver") == driver for r in results)
    late = f"not Running after {sources['timeout']}s" + (f": {why}" if why else "")
    return {
        "title": "The scheduler allocates a device to a pod's claim",
        "command": f"kubectl -n {ns} get pod dra-pod -o wide; kubectl -n {ns} get resourceclaims -o yaml",
        "output": {"pod": {"phase": phase, "node": (pod.get("spec") or {}).get("nodeName", ""), "unschedulable": why},
                   "claim": (claim.get("metadata") or {}).get("name", "(none)"), "allocated": allocated},
        "files": [{"name": "applied.yaml", "data": (applied or {}).get("result", {})},
                  {"name": "pod.yaml", "data": pod}, {"name": "resourceclaim.yaml", "data": claim}],
        "checks": [
            _check("The scheduler allocates a device for a claim made from a ResourceClaimTemplate", bool(results),
                   "status.allocation.devices.results non-empty", allocated or "no allocation", why),
            _check(f"The allocated device is one that driver {driver or '(any)'} publishes",
                   bool(allocated) and set(allocated) <= published and of_driver,
                   f"a device of {driver or 'a driver'} listed in a ResourceSlice", allocated),
            _check("The claim is reserved for the pod that uses it", bool(uid) and uid in reserved,
                   f"status.reservedFor holds pod uid {uid}", reserved),
            _check("The pod using the claim reaches Running", running, "Running", phase, "" if running else late),
        ],
    }


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "slice_device_ids": slice_device_ids,
            "slice_summaries": slice_summaries,
            "dra_api_step": dra_api_step,
            "dra_published_step": dra_published_step,
            "dra_probe_step": dra_probe_step,
            "dra_allocation_step": dra_allocation_step,
        }
