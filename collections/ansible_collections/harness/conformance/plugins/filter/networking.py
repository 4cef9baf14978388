# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Which DRA devices are network interfaces (``verify_high_performance_networking``): those of a known NIC
driver, or with an attribute whose name looks like a NIC's. One pass over the ResourceSlices: a lab of
500 nodes publishes 4,000 devices, which a looped ``set_fact`` took minutes to walk.

The ``hpn_*_step`` filters judge the role's steps from what its tasks registered and its settings
(``verify_high_performance_networking_sources``: ``drivers``, ``attribute_regex``, ``characteristics``,
``optional_characteristics``, ``device_class``, ``temp_class``, ``namespace``), each returning one step of
the lab notebook for ``harness.conformance.evidence``'s ``step:``."""

from __future__ import annotations

import json
import re
from typing import Any

from ansible_collections.harness.conformance.plugins.filter.k8s_status import condition_summary
from ansible_collections.harness.conformance.plugins.module_utils.k8s_results import stored

DOCUMENTATION = r"""
name: nic_devices
short_description: The DRA devices that are network interfaces
version_added: "0.4.0"
description:
  - C(slices | harness.conformance.nic_devices(drivers, attribute_regex)) returns, in the order of the slices and
    their devices, C({slice, node, driver, pool, device, attributes, capacity}) of each device whose slice's driver
    is one of I(drivers), or that has an attribute whose name I(attribute_regex) finds (C(re.search)).
  - C(reads | harness.conformance.hpn_nics_step(nads, sources)) judges the NICs published and their
    characteristics (I(reads) - the results of one C(k8s_info) loop over C(ResourceSlice),
    C(CustomResourceDefinition) and C(DeviceClass)); its facts name the NICs, their driver and the DeviceClass
    the claim uses.
  - C(reads | harness.conformance.hpn_claim_step(nics, sources)) judges the pod's claim (I(reads) - the results
    of one C(k8s_info) loop over C(Pod) and C(ResourceClaim); I(nics) - the facts of C(hpn_nics_step)).
  - C(steps | harness.conformance.hpn_closing_checks(names, hardware_checks)) adds the checks no step reached.
positional: _input
options:
  _input:
    description: ResourceSlice objects, or what the role's tasks registered, depending on the filter.
    type: list
    required: true
  drivers:
    description: DRA driver names of network devices.
    type: list
  attribute_regex:
    description: A device with an attribute whose name this finds is a NIC, whatever its driver.
    type: str
"""


def nic_devices(slices: list[dict[str, Any]], drivers: list[str], attribute_regex: str) -> list[dict[str, Any]]:
    pattern = re.compile(attribute_regex)
    out = []
    for s in slices or []:
        spec = s.get("spec", {})
        for device in spec.get("devices") or []:
            attributes = device.get("attributes") or {}
            if spec.get("driver") in drivers or any(pattern.search(name) for name in attributes):
                out.append({"slice": s["metadata"]["name"], "node": spec.get("nodeName", ""), "driver": spec.get("driver"),
                            "pool": spec.get("pool", {}).get("name"), "device": device["name"],
                            "attributes": attributes, "capacity": device.get("capacity") or {}})  # fmt: skip
    return out


NOT_REACHED = "not reached: no NIC devices are published as DRA devices"


def _by_kind(reads: Any) -> dict[str, list[dict[str, Any]]]:
    """The objects of a ``k8s_info`` loop over kinds, by kind; a skipped read gives none."""
    return {str(((r or {}).get("item") or {}).get("kind", "")): list((r or {}).get("resources") or []) for r in stored(reads) or []}


def _unique(values: Any) -> list[Any]:
    return list(dict.fromkeys(values))


def _characteristics(nics: list[dict[str, Any]], patterns: dict[str, str]) -> dict[str, list[str]]:
    """Per characteristic, the attribute and capacity names of the NICs its pattern finds (re.search)."""
    names = sorted(_unique([k for n in nics for k in n["attributes"]] + [k for n in nics for k in n["capacity"]]))
    return {key: [n for n in names if re.search(str(pattern), n)] for key, pattern in (patterns or {}).items()}


def _classes_naming(classes: list[dict[str, Any]], driver: str) -> list[str]:
    """DeviceClasses whose spec (its CEL selectors) names ``driver`` as a whole word (not a longer name's part)."""
    if not driver:
        return []
    pattern = re.compile(r"(?<![\w.-])" + re.escape(driver) + r"(?![\w.-])")
    return sorted(c["metadata"]["name"] for c in classes if pattern.search(json.dumps(c.get("spec"))))


def hpn_nics_step(reads: Any, nads: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """NICs are published (as DRA devices, or Multus NetworkAttachmentDefinitions) with the characteristics a
    scheduler needs (RDMA, PCI, NUMA). Facts for the claim: the NICs, their driver and the DeviceClass to ask for
    (the one set, else one naming the driver, else a temporary one the role makes: ``make_class``)."""
    objs = _by_kind(reads)
    slices = objs.get("ResourceSlice", [])
    nics = nic_devices(slices, list(sources["drivers"] or []), str(sources["attribute_regex"]))
    multus = len(objs.get("CustomResourceDefinition", [])) > 0
    nad_list = list((nads or {}).get("resources") or [])
    found = _characteristics(nics, sources["characteristics"])
    seen = {**found, **_characteristics(nics, sources["optional_characteristics"])}
    slice_drivers = _unique((s.get("spec") or {}).get("driver") for s in slices)
    published = len(nics) > 0 or len(nad_list) > 0
    driver = str(nics[0]["driver"]) if nics else ""
    matching = _classes_naming(objs.get("DeviceClass", []), driver)
    class_name = str(sources["device_class"] or (matching[0] if matching else sources["temp_class"]))
    multus_text = f"{len(nad_list)} NetworkAttachmentDefinition(s)" if multus else "not installed"
    return {
        "title": "NICs are published with their characteristics",
        "command": "kubectl get resourceslices -o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName,DRIVER:.spec.driver,"
                   "DEVICES:.spec.devices[*].name; kubectl get network-attachment-definitions -A",
        "output": {"nic_devices": [n["device"] for n in nics], "characteristics": seen},
        "files": [{"name": "nic-devices.yaml", "data": {
            "nic_devices": nics, "resourceslice_drivers": slice_drivers, "multus_crd_installed": multus,
            "network_attachment_definitions": [n.get("metadata") for n in nad_list]}}],
        "checks": [
            {"name": "NIC devices are published", "status": "pass" if published else "fail",
             "expected": f"DRA ResourceSlices of a network driver ({', '.join(sources['drivers'] or [])}, or devices with NIC "
                         "attributes), or Multus NetworkAttachmentDefinitions",
             "observed": f"{len(nics)} NIC device(s) on node(s) {', '.join(_unique(n['node'] for n in nics)) or 'none'} from "
                         f"driver(s) {', '.join(_unique(n['driver'] for n in nics)) or 'none'}; ResourceSlice drivers present: "
                         f"{', '.join(map(str, slice_drivers)) or 'none'}; Multus: {multus_text}",
             "message": "" if published else "no network DRA driver (e.g. DRANET) nor Multus publishes any NIC on this cluster"},
            {"name": "NIC characteristics are published",
             "status": "pass" if nics and all(found.values()) else "fail",
             "expected": f"device attributes/capacities for {', '.join(sources['characteristics'] or {})} on the NIC devices",
             "observed": seen if nics else "no NIC devices published as DRA devices"},
        ],
        "facts": {"nics": nics, "driver": driver, "matching_classes": matching, "class_name": class_name,
                  "make_class": class_name == sources["temp_class"]},
    }


def hpn_claim_step(reads: Any, nics: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """A pod asking for a NIC through the DeviceClass is allocated one of the driver, on a node whose
    ResourceSlice holds it. Also reports whether a DeviceClass of the cluster selects the driver (optional:
    the role makes a temporary one when none does)."""
    objs = _by_kind(reads)
    pods, claims = objs.get("Pod", []), objs.get("ResourceClaim", [])
    pod = pods[0] if pods else {}
    node = str((pod.get("spec") or {}).get("nodeName") or "")
    driver, class_name, matching = str(nics["driver"]), str(nics["class_name"]), list(nics["matching_classes"] or [])
    results = [r for c in claims for r in ((((c.get("status") or {}).get("allocation") or {}).get("devices") or {}).get("results") or [])]
    pools, devices = [r.get("pool") for r in results], [r.get("device") for r in results]
    alloc_nodes = _unique(n["node"] for n in nics["nics"] or [] if n["pool"] in pools and n["device"] in devices)
    picked = sources["device_class"] or ", ".join(matching)
    ns = sources["namespace"]
    return {
        "title": "A pod that asks for a NIC gets one on a capable node",
        "command": f"kubectl get resourceclaims -n {ns} -o yaml; kubectl get pod nic-client -n {ns} -o wide",
        "output": [c["status"] for c in claims if "status" in c],
        "files": [{"name": "nic-claim.yaml", "data": {"resourceclaims": claims, "pod": pods, "deviceclass": class_name}}],
        "checks": [
            {"name": "A DeviceClass selects the NIC driver", "status": "pass" if picked else "skip", "required": False,
             "expected": f"a DeviceClass whose selector names driver {driver}",
             "observed": picked or f"none; the role used a temporary DeviceClass {sources['temp_class']}"},
            {"name": "A pod requesting a NIC claim is allocated a NIC",
             "status": "pass" if any(r.get("driver") == driver for r in results) else "fail",
             "expected": f"ResourceClaim allocated a device of driver {driver} (DeviceClass {class_name})",
             "observed": [{k: v for k, v in r.items() if k in ("driver", "pool", "device")} for r in results]
                         or f"not allocated; pod {condition_summary(pod)}"},
            {"name": "The pod lands on a node that publishes the NIC", "status": "pass" if node and node in alloc_nodes else "fail",
             "expected": "pod on a node whose ResourceSlice holds the allocated NIC",
             "observed": f"pod on {node or 'no node'}; allocated NIC on {', '.join(alloc_nodes) or 'no node'}"},
        ],
    }


def hpn_closing_checks(steps: Any, names: Any, hardware_checks: Any) -> list[dict[str, Any]]:
    """What the role adds after its steps: a skipped, required check for each of ``names`` no recorded step
    made (the role stopped before it: no NIC to claim), then the checks only real nodes and NICs can make."""
    made = {c.get("name") for s in steps or [] if isinstance(s, dict) for c in s.get("checks") or []}
    return [{"name": n, "status": "skip", "required": True, "message": NOT_REACHED} for n in names or [] if n not in made] + list(
        hardware_checks or [])


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"nic_devices": nic_devices, "hpn_nics_step": hpn_nics_step, "hpn_claim_step": hpn_claim_step,
                "hpn_closing_checks": hpn_closing_checks}
