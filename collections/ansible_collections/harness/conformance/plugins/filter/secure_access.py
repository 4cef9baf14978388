# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""What the test pods of ``verify_secure_accelerator_access`` were given, and whether access stayed isolated.

The role runs, per mechanism, pods that ask for one accelerator and pods that ask for none:
``dra-pos-a``, ``dra-pos-b`` and ``dra-multi`` (two containers, one referencing the claim) claim a
device through DRA, ``dra-neg`` does not; ``dp-pos`` requests one device-plugin unit, ``dp-neg``
none. These filters read the pods, claims, slices and nodes as the API returned them:

- ``dra_allocations`` / ``dra_isolation_checks``: per DRA pod its claims, devices, device identities
  (e.g. the GPU UUID) and reservations, and the judgement (distinct devices, own reservation, ...);
- ``unit_usage`` / ``device_plugin_isolation``: device-plugin units requested against allocatable per
  node, and the judgement with its notebook output;
- ``admission_findings``: privileged containers, host device mounts, or device-plugin limits on DRA pods
  that admission let through.

The ``secure_access_*_step`` filters turn what the role's tasks registered (the ``k8s_info`` loops
whose items carry an ``id``, the probe results, the applied manifests) and the role's settings
(``verify_secure_accelerator_access_settings``) into whole judged steps for
``harness.conformance.evidence``'s ``step:``: the notebook title and command, the output, the checks,
the files and the facts the tasks after it need. The role's tasks only pass values along.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.harness.conformance.plugins.filter.k8s_status import nodes_with_units
from ansible_collections.harness.conformance.plugins.filter.probes import (
    accelerator_nodes,
    container_nodes,
    secure_access_plan,
    secure_access_verdicts,
)
from ansible_collections.harness.conformance.plugins.module_utils.quantities import to_int
from ansible_collections.harness.conformance.plugins.module_utils.dra_devices import attribute_value, device_id
from ansible_collections.harness.conformance.plugins.module_utils.k8s_results import evidence_file, stored

DOCUMENTATION = r"""
name: dra_allocations
short_description: The accelerators the secure-access test pods were given, and the judgement of their isolation
version_added: "0.3.0"
description:
  - C(pods_by_name | harness.conformance.dra_allocations(claims, slices, identity_attribute)) summarises each DRA test pod.
  - C(allocations | harness.conformance.dra_isolation_checks(pods_by_name, running, identity_attribute, timeout)) judges it.
  - C(nodes | harness.conformance.unit_usage(pods, resource)) sums requested against allocatable units per node.
  - C(pods_by_name | harness.conformance.device_plugin_isolation(units, resource)) returns the notebook C(output) and C(checks).
  - C(pods_by_name | harness.conformance.admission_findings(resource, device_path_prefix)) lists what admission should have refused.
  - "C(reads | harness.conformance.secure_access_mechanisms_step(apis, settings)),
    C(probed | harness.conformance.secure_access_probe_step(mechanisms, settings)),
    C(observed | harness.conformance.secure_access_observed_step),
    C(observed | harness.conformance.secure_access_dra_step(reads, applied, settings)),
    C(observed | harness.conformance.secure_access_device_plugin_step(reads, applied, settings)) and
    C(observed | harness.conformance.secure_access_admission_step(settings)) return a judged step for
    C(harness.conformance.evidence)'s C(step) (I(reads), I(observed), I(applied): the C(results) of the role's
    loops; I(mechanisms): the C(facts) of the first step)."
  - C(resources | harness.conformance.secure_access_not_running(expected)) names the expected pods not Running yet.
positional: _input
options:
  _input:
    description: The test pods by name, the allocations, or the nodes, depending on the filter.
    type: raw
    required: true
"""

DRA_PODS = ["dra-pos-a", "dra-pos-b", "dra-multi", "dra-neg"]
CLAIMED = ["dra-pos-a", "dra-pos-b", "dra-multi"]



def _identities(slices: list[dict[str, Any]], attribute: str) -> dict[str, str]:
    """driver/pool/device -> the device's identity attribute (plain or domain-prefixed), '' when it has none."""
    out: dict[str, str] = {}
    for s in slices or []:
        spec = s.get("spec") or {}
        for d in spec.get("devices") or []:
            value = ""
            for key, attr in (d.get("attributes") or {}).items():
                if key == attribute or key.endswith(f"/{attribute}"):
                    value = attribute_value(attr)
            out[device_id(spec["driver"], spec["pool"]["name"], d["name"])] = value
    return out


def dra_allocations(pods: dict[str, dict[str, Any]], claims: list[dict[str, Any]] | None,
                    slices: list[dict[str, Any]] | None, identity_attribute: str) -> dict[str, dict[str, Any]]:  # fmt: skip
    identity = _identities(slices or [], identity_attribute)
    claims = claims or []
    out: dict[str, dict[str, Any]] = {}
    for name in DRA_PODS:
        pod = pods.get(name) or {}
        status, spec = pod.get("status") or {}, pod.get("spec") or {}
        uid = (pod.get("metadata") or {}).get("uid", "")
        claim_names = [n for s in status.get("resourceClaimStatuses") or [] if (n := s.get("resourceClaimName"))]
        devices: list[str] = []
        reserved: list[list[str]] = []
        for c in claims:
            if c["metadata"]["name"] not in claim_names:
                continue
            cstatus = c.get("status") or {}
            results = ((cstatus.get("allocation") or {}).get("devices") or {}).get("results") or []
            devices += [device_id(r["driver"], r["pool"], r["device"]) for r in results]
            reserved.append([r.get("uid") for r in cstatus.get("reservedFor") or []])
        reservations = [r for c in claims for r in ((c.get("status") or {}).get("reservedFor") or [])]
        out[name] = {
            "uid": uid,
            "phase": status.get("phase", "(absent)"),
            "node": spec.get("nodeName", ""),
            "pod_claims": [c.get("name") for c in spec.get("resourceClaims") or []],
            "claims": claim_names,
            "devices": devices,
            "identities": [i for d in devices if (i := identity.get(d, ""))],
            "reserved_for": reserved,
            "claims_reserved_for_it": sum(1 for r in reservations if r.get("uid") == uid) if uid else 0,
        }
    return out


def container_claims(pod: dict[str, Any] | None) -> dict[str, list[str]]:
    """Each container of a pod and the claims it references (resources.claims[].name)."""
    containers = ((pod or {}).get("spec") or {}).get("containers") or []
    return {c["name"]: [x.get("name") for x in ((c.get("resources") or {}).get("claims") or [])] for c in containers}


def dra_isolation_checks(d: dict[str, dict[str, Any]], pods: dict[str, dict[str, Any]], running: list[str],
                         identity_attribute: str, timeout: Any) -> list[dict[str, Any]]:  # fmt: skip
    a, b, m, n = (d[name] for name in DRA_PODS)
    multi = container_claims(pods.get("dra-multi"))
    not_running = [name for name in DRA_PODS if name not in running]
    one_each = sorted({len(d[name]["devices"]) for name in CLAIMED}) == [1]
    distinct = bool(a["devices"] and b["devices"] and not set(a["devices"]) & set(b["devices"])
                    and not set(a["identities"]) & set(b["identities"]))  # fmt: skip
    own = all(p["uid"] and p["reserved_for"] and all(r == [p["uid"]] for r in p["reserved_for"])
              for p in (d[name] for name in CLAIMED))  # fmt: skip
    neg_clean = n["uid"] != "" and not n["pod_claims"] and not n["claims"] and n["claims_reserved_for_it"] == 0
    multi_ok = multi.get("authorized", []) == ["gpu"] and multi.get("unauthorized", ["(absent)"]) == [] and len(m["devices"]) == 1
    if distinct:
        share_msg = ""
    elif a["devices"] and b["devices"]:
        share_msg = f"the two claims share a device (by name or by {identity_attribute})"
    else:
        share_msg = "a claim got no device"
    return [
        {"name": "DRA: the claimed pods and the unclaimed pod run",
         "status": "pass" if not not_running else "fail",
         "expected": "dra-pos-a, dra-pos-b, dra-multi, dra-neg Running",
         "observed": {name: p["phase"] for name, p in d.items()},
         "message": f"not Running after {timeout}s: {', '.join(not_running)}" if not_running else ""},
        {"name": "DRA: every claim is allocated exactly one device",
         "status": "pass" if one_each else "fail",
         "expected": "one device per claim (count 1)",
         "observed": {name: d[name]["devices"] for name in CLAIMED}},
        {"name": "DRA: two pods' claims get different physical devices",
         "status": "pass" if distinct else "fail",
         "expected": f"different devices and different {identity_attribute} values",
         "observed": {"dra-pos-a": {"devices": a["devices"], "identity": a["identities"]},
                      "dra-pos-b": {"devices": b["devices"], "identity": b["identities"]}},
         "message": share_msg},
        {"name": "DRA: each claim is reserved only for the pod that claims it",
         "status": "pass" if own else "fail",
         "expected": "status.reservedFor = [its own pod]",
         "observed": {name: d[name]["reserved_for"] for name in CLAIMED}},
        {"name": "DRA: a pod without a claim gets no device",
         "status": "pass" if neg_clean else "fail",
         "expected": "no resourceClaims, no claim status, no claim reserved for it",
         "observed": {"pod_claims": n["pod_claims"], "claims": n["claims"],
                      "claims_reserved_for_it": n["claims_reserved_for_it"], "node": n["node"]}},
        {"name": "DRA: in a two-container pod only the container that references the claim gets it",
         "status": "pass" if multi_ok else "fail",
         "expected": {"authorized": ["gpu"], "unauthorized": []},
         "observed": multi},
    ]  # fmt: skip


def unit_usage(nodes: list[dict[str, Any]], pods: list[dict[str, Any]] | None, resource: str) -> dict[str, dict[str, int]]:
    """Per node, allocatable and requested units of an extended resource (admission copies an extended
    resource's limit into its request, so requests are what count)."""
    out = {n["metadata"]["name"]: {"allocatable": to_int(((n.get("status") or {}).get("allocatable") or {}).get(resource, "0")),
                                   "requested": 0} for n in nodes or []}  # fmt: skip
    for p in pods or []:
        node = (p.get("spec") or {}).get("nodeName", "")
        if node not in out:
            continue
        for c in p["spec"].get("containers") or []:
            out[node]["requested"] += to_int(((c.get("resources") or {}).get("requests") or {}).get(resource, "0"))
    return out


def device_plugin_isolation(pods: dict[str, dict[str, Any]], units: dict[str, dict[str, int]], resource: str) -> dict[str, Any]:
    """The notebook output and the checks of the device-plugin pods."""
    pos, neg = pods.get("dp-pos") or {}, pods.get("dp-neg") or {}
    phase = {name: (p.get("status") or {}).get("phase", "(absent)") for name, p in (("dp-pos", pos), ("dp-neg", neg))}
    neg_units = [f"{c['name']} {kind} {c['resources'][kind][resource]}"
                 for c in (neg.get("spec") or {}).get("containers") or []
                 for kind in ("requests", "limits") if resource in ((c.get("resources") or {}).get(kind) or {})]  # fmt: skip
    over = [f"{name}: {u['requested']} requested > {u['allocatable']} allocatable"
            for name, u in units.items() if u["requested"] > u["allocatable"]]  # fmt: skip
    output = {
        "dp-pos": {"phase": phase["dp-pos"], "node": (pos.get("spec") or {}).get("nodeName", "")},
        "dp-neg": {"phase": phase["dp-neg"], "node": (neg.get("spec") or {}).get("nodeName", ""), "units": neg_units},
        "per_node": units,
    }
    checks = [
        {"name": f"Device plugin: a pod requesting one {resource} and a pod requesting none run",
         "status": "pass" if set(phase.values()) == {"Running"} else "fail",
         "expected": {"dp-pos": "Running", "dp-neg": "Running"},
         "observed": dict(phase)},
        {"name": f"Device plugin: a pod without a request is given no {resource}",
         "status": "pass" if neg and not neg_units else "fail",
         "expected": f"no {resource} in requests or limits after admission",
         "observed": neg_units if neg else "(pod absent)"},
        {"name": f"Device plugin: no node has more {resource} requested than it can allocate",
         "status": "pass" if not over else "fail",
         "expected": "requested <= allocatable on every node",
         "observed": over or units},
    ]  # fmt: skip
    return {"output": output, "checks": checks}


def admission_findings(pods: dict[str, dict[str, Any]], resource: str, device_path_prefix: str) -> list[str]:
    """As admitted (after any mutating webhook): privileged containers, host device nodes mounted, and
    device-plugin limits on DRA pods."""
    out: list[str] = []
    for name, p in pods.items():
        spec = p.get("spec") or {}
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            if (c.get("securityContext") or {}).get("privileged"):
                out.append(f"{name}/{c['name']}: privileged")
            if name.startswith("dra-") and resource in ((c.get("resources") or {}).get("limits") or {}):
                out.append(f"{name}/{c['name']}: {resource} limit on a DRA pod")
        for v in spec.get("volumes") or []:
            path = str((v.get("hostPath") or {}).get("path") or "")
            if "hostPath" in v and (path.startswith(device_path_prefix) or path in ("/dev", "/dev/")):
                out.append(f"{name}: hostPath {path}")
    return out



# The judged steps of the role (one ``harness.conformance.evidence`` call each).


def _read(results: list[dict[str, Any]] | None, read_id: str) -> list[dict[str, Any]]:
    """The objects one item of a ``k8s_info`` loop read (items name their read with ``id``); none when the
    item was skipped or the read failed."""
    for r in stored(results) or []:
        if (r.get("item") or {}).get("id") == read_id:
            return list(r.get("resources") or [])
    return []


def _applied(results: list[dict[str, Any]] | None, mechanism: str) -> Any:
    """What applying one mechanism's manifests returned (``{}`` when it was not applied)."""
    for r in results or []:
        if (r.get("item") or {}).get("mechanism") == mechanism:
            return r.get("result", {})
    return {}


def _by_name(pods: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in pods}


def _running(pods: list[dict[str, Any]]) -> list[str]:
    return sorted(p["metadata"]["name"] for p in pods if (p.get("status") or {}).get("phase") == "Running")


def secure_access_mechanisms_step(reads: list[dict[str, Any]], apis: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """How the platform hands out accelerators, and which mechanisms the role exercises.

    ``reads``: the preflight loop (``deviceclass``, ``slices``, ``nodes``); ``apis``: the API groups the
    server serves. A mechanism is exercised when ``mode`` names it, or in ``auto`` when the platform
    advertises it; it can be exercised only when it has something to hand out (a DeviceClass and a
    published device; a node with allocatable units). The facts plan the rest of the role: the pods
    the workload must run, and the probe rounds on the nodes that really run containers.
    """
    mode, driver, resource = settings["mode"], settings["driver"], settings["resource"]
    dra_served = settings["api_version"] in (apis or {})
    slices, nodes = _read(reads, "slices"), _read(reads, "nodes")
    device_class = _read(reads, "deviceclass")
    class_found = len(device_class) > 0
    driver_slices = [s for s in slices if (s.get("spec") or {}).get("driver") == driver]
    dra_devices = sum(len((s.get("spec") or {}).get("devices") or []) for s in driver_slices)
    dra_nodes = sorted({s["spec"]["nodeName"] for s in driver_slices
                        if "nodeName" in s["spec"] and "devices" in s["spec"] and s["spec"]["devices"] != []})  # fmt: skip
    dp_nodes = sorted(nodes_with_units(nodes, resource))
    run_dra = mode == "dra" or (mode == "auto" and dra_served and (class_found or dra_devices > 0))
    run_dp = mode == "device-plugin" or (mode == "auto" and len(dp_nodes) > 0)
    dra_ok = run_dra and class_found and dra_devices > 0
    dp_ok = run_dp and len(dp_nodes) > 0
    checks: list[dict[str, Any]] = [
        {"name": "Accelerators are advertised (DRA devices or a device-plugin resource)",
         "status": "pass" if run_dra or run_dp else "fail",
         "expected": f"ResourceSlices of {driver} or nodes with allocatable {resource}",
         "observed": f"{dra_devices} DRA devices, {len(dp_nodes)} nodes with {resource}"}]  # fmt: skip
    if run_dra:
        checks.append({
            "name": f"DRA: DeviceClass {settings['device_class']} exists and driver {driver} publishes devices",
            "status": "pass" if dra_ok else "fail",
            "expected": "the DeviceClass and >= 1 published device",
            "observed": f"DeviceClass {'present' if class_found else 'absent'}, {dra_devices} devices",
            "message": "" if dra_ok else "no DRA claim can be satisfied here, so isolation through DRA cannot be shown"})  # fmt: skip
    if run_dp:
        checks.append({"name": f"Device plugin: nodes advertise allocatable {resource}",
                       "status": "pass" if dp_ok else "fail", "expected": ">= 1 node", "observed": list(dp_nodes)})  # fmt: skip
    mechanisms = (["dra"] if dra_ok else []) + (["device-plugin"] if dp_ok else [])
    real_nodes = container_nodes(nodes)
    escaped = resource.replace(".", "\\.")
    return {
        "title": "How the platform hands out accelerators",
        "command": (f"kubectl get deviceclass {settings['device_class']}; kubectl get resourceslices -o wide; "
                    f"kubectl get nodes -o custom-columns=NAME:.metadata.name,GPU:'.status.allocatable.{escaped}'"),
        "output": {"mode": mode, "dra_served": dra_served, "deviceclass_found": class_found, "dra_devices": dra_devices,
                   "dra_nodes": dra_nodes, "device_plugin_nodes": dp_nodes,
                   "exercised": (["DRA"] if dra_ok else []) + (["device plugin"] if dp_ok else [])},
        "files": [evidence_file("resourceslices.yaml", slices), {"name": "deviceclass.yaml", "data": device_class}],
        "checks": checks,
        "facts": {
            "dra_served": dra_served, "dra_ok": dra_ok, "dp_ok": dp_ok, "dra_nodes": list(dra_nodes), "dp_nodes": list(dp_nodes),
            "expected_pods": (DRA_PODS if dra_ok else []) + (["dp-pos", "dp-neg"] if dp_ok else []),
            "real_nodes": real_nodes,
            "rounds": secure_access_plan(real_nodes, accelerator_nodes(nodes, resource, slices, driver), mechanisms, resource),
        },
    }  # fmt: skip


def secure_access_probe_step(probed: dict[str, Any] | None, mechanisms: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """What the containers of every probe round saw, judged against the plan (``mechanisms``: the facts of
    the first step)."""
    probed = probed or {}
    return {
        "title": "Containers see only the accelerators allocated to them",
        "command": (f"kubectl -n {settings['namespace']} logs <pod> -c <container> "
                    "(probe: ls /dev/nvidia[0-9]*; nvidia-smi -L)"),
        "output": probed,
        "files": [{"name": "probes.yaml", "data": probed}],
        "checks": secure_access_verdicts(probed, mechanisms.get("rounds"), mechanisms.get("real_nodes")),
    }


def secure_access_not_running(pods: list[dict[str, Any]] | None, expected: list[str]) -> list[str]:
    """The expected test pods that are not Running yet (the wait goes on while there are any)."""
    running = set(_running(list(pods or [])))
    return [name for name in expected or [] if name not in running]


def secure_access_observed_step(observed: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The test pods and the namespace's ResourceClaims as read once the pods ran (or the wait gave up)."""
    return {"files": [{"name": "pods.yaml", "data": _read(observed, "pods")},
                      {"name": "resourceclaims.yaml", "data": _read(observed, "claims")}]}  # fmt: skip


def secure_access_dra_step(observed: list[dict[str, Any]] | None, reads: list[dict[str, Any]] | None,
                           applied: list[dict[str, Any]] | None, settings: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The DRA pods judged: per claimed pod its claim, devices, their identity (looked up in the
    ResourceSlices) and reservations, and the container that references the claim in ``dra-multi``."""
    pods = _read(observed, "pods")
    by_name = _by_name(pods)
    attribute = settings["identity_attribute"]
    d = dra_allocations(by_name, _read(observed, "claims"), _read(reads, "slices"), attribute)
    output = {**d, "dra-multi": {**d["dra-multi"], "container_claims": container_claims(by_name.get("dra-multi") or {})}}
    ns = settings["namespace"]
    return {
        "title": "DRA allocates each claim its own device, and only to the pod and container that claim it",
        "command": f"kubectl -n {ns} get pods -o wide; kubectl -n {ns} get resourceclaims -o yaml",
        "output": output,
        "files": [{"name": "applied-dra.yaml", "data": _applied(applied, "dra")}],
        "checks": dra_isolation_checks(d, by_name, _running(pods), attribute, settings["timeout"]),
    }


def secure_access_device_plugin_step(observed: list[dict[str, Any]] | None, reads: list[dict[str, Any]] | None,
                                     applied: list[dict[str, Any]] | None, settings: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The device-plugin pods judged, with the units every pod of the cluster requests per node."""
    resource = settings["resource"]
    units = unit_usage(_read(reads, "nodes"), _read(observed, "all_pods"), resource)
    view = device_plugin_isolation(_by_name(_read(observed, "pods")), units, resource)
    return {
        "title": "The device plugin hands units only to pods that request them, never more than a node has",
        "command": (f"kubectl -n {settings['namespace']} get pods dp-pos dp-neg -o wide; "
                    "kubectl describe nodes | grep -A8 'Allocated resources'"),
        "output": view["output"],
        "files": [{"name": "applied-device-plugin.yaml", "data": _applied(applied, "device-plugin")}],
        "checks": view["checks"],
    }


def secure_access_admission_step(observed: list[dict[str, Any]] | None, settings: dict[str, Any]) -> dict[str, Any]:
    """What admission (after any mutating webhook) kept in the test pods: nothing privileged, no host
    device node, no device-plugin limit on a DRA pod."""
    pods = _by_name(_read(observed, "pods"))
    prefix = settings["device_path_prefix"]
    findings = admission_findings(pods, settings["resource"], prefix)
    return {
        "title": "Admitted pods get no privileged mode and no host device nodes",
        "command": f"kubectl -n {settings['namespace']} get pods -o yaml",
        "output": {"pods": sorted(pods), "findings": findings},
        "checks": [{"name": f"Admitted test pods are not privileged and mount no {prefix}* host path",
                    "status": "pass" if pods and not findings else "fail",
                    "expected": f"no privileged container, no hostPath under {prefix}, no device-plugin limit on DRA pods",
                    "observed": findings if pods else "no pod was admitted"}],
    }  # fmt: skip


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "dra_allocations": dra_allocations,
            "dra_isolation_checks": dra_isolation_checks,
            "unit_usage": unit_usage,
            "device_plugin_isolation": device_plugin_isolation,
            "admission_findings": admission_findings,
            "container_claims": container_claims,
            "secure_access_mechanisms_step": secure_access_mechanisms_step,
            "secure_access_probe_step": secure_access_probe_step,
            "secure_access_not_running": secure_access_not_running,
            "secure_access_observed_step": secure_access_observed_step,
            "secure_access_dra_step": secure_access_dra_step,
            "secure_access_device_plugin_step": secure_access_device_plugin_step,
            "secure_access_admission_step": secure_access_admission_step,
        }
