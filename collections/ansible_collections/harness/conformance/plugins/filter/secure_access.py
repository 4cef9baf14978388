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
"""

from __future__ import annotations

from typing import Any

from ansible_collections.harness.conformance.plugins.module_utils.quantities import to_int
from ansible_collections.harness.conformance.plugins.module_utils.dra_devices import attribute_value, device_id

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
            path = (v.get("hostPath") or {}).get("path")
            if "hostPath" in v and (path.startswith(device_path_prefix) or path in ("/dev", "/dev/")):
                out.append(f"{name}: hostPath {path}")
    return out


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "dra_allocations": dra_allocations,
            "dra_isolation_checks": dra_isolation_checks,
            "unit_usage": unit_usage,
            "device_plugin_isolation": device_plugin_isolation,
            "admission_findings": admission_findings,
            "container_claims": container_claims,
        }
