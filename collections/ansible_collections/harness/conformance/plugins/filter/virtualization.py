# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Which virtual GPUs a cluster advertises, where a test pod can get one, and the judgement
(``verify_virtualized_accelerator``).

A vGPU node is advertised by GPU Feature Discovery's ``nvidia.com/vgpu.present=true`` label (with the
host driver version beside it), or by DRA devices whose ``brand`` attribute names a vGPU product
(NvidiaVCS, NvidiaVWS, ...).

- ``virtual_gpus``: the labelled vGPU nodes and the vGPU devices in ResourceSlices, per node;
- ``virtual_gpu_target``: the mechanism and node a test pod should use ({} when none can);
- ``virtual_gpu_checks``: the check records judging what is advertised.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.harness.conformance.plugins.module_utils.quantities import to_int
from ansible_collections.harness.conformance.plugins.module_utils.dra_devices import attribute_value

DOCUMENTATION = r"""
name: virtual_gpus
short_description: The virtual GPUs a cluster advertises, the test pod's target, and their judgement into checks
version_added: "0.3.0"
description:
  - C(nodes | harness.conformance.virtual_gpus(slices, sources)) returns C(labelled) (vGPU nodes with their host
    driver, product and allocatable units) and C(dra) (vGPU devices per node).
  - C(found | harness.conformance.virtual_gpu_target) names where a test pod goes.
  - C(found | harness.conformance.virtual_gpu_checks(target, sources)) judges it into check records.
positional: _input
options:
  _input:
    description: Node objects, or what C(virtual_gpus) returned.
    type: raw
    required: true
  slices:
    description: The DRA driver's ResourceSlices.
    type: list
  target:
    description: What C(virtual_gpu_target) returned.
    type: dict
  sources:
    description: >-
      The role's settings: C(present_label), C(host_driver_label), C(product_label), C(resource), C(dra_driver),
      C(brand_attribute), C(brand_pattern).
    type: dict
    required: true
"""



def _brand(device: dict[str, Any], names: tuple[str, str]) -> str:
    brand = ""
    for key, attr in (device.get("attributes") or {}).items():
        if key in names:
            brand = attribute_value(attr)
    return brand


def virtual_gpus(nodes: list[dict[str, Any]], slices: list[dict[str, Any]] | None,
                 sources: dict[str, Any]) -> dict[str, dict[str, Any]]:  # fmt: skip
    out: dict[str, dict[str, Any]] = {"labelled": {}, "dra": {}}
    for node in nodes or []:
        labels = node["metadata"].get("labels") or {}
        if str(labels.get(sources["present_label"], "")).lower() != "true":
            continue
        out["labelled"][node["metadata"]["name"]] = {
            "host_driver": labels.get(sources["host_driver_label"], ""),
            "product": labels.get(sources["product_label"], ""),
            "allocatable": to_int(((node.get("status") or {}).get("allocatable") or {}).get(sources["resource"], "0")),
        }
    names = (str(sources["brand_attribute"]), f"{sources['dra_driver']}/{sources['brand_attribute']}")
    pattern = re.compile(str(sources["brand_pattern"]))
    for s in slices or []:
        spec = s.get("spec") or {}
        for device in spec.get("devices") or []:
            brand = _brand(device, names)
            if pattern.match(brand):
                node = spec.get("nodeName", "")
                out["dra"][node] = out["dra"].get(node, []) + [f"{spec['pool']['name']}/{device['name']} ({brand})"]
    return out


def virtual_gpu_target(found: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The first labelled vGPU node with units to give (extended resource), else the first node with vGPU
    devices in DRA (a claim whose selector asks for the vGPU brand); {} when there is neither."""
    labelled = sorted(name for name, v in found["labelled"].items() if v["allocatable"] > 0)
    if labelled:
        return {"mechanism": "device-plugin", "node": labelled[0]}
    dra = sorted(name for name in found["dra"] if name)
    return {"mechanism": "dra", "node": dra[0]} if dra else {}


def virtual_gpu_checks(found: dict[str, dict[str, Any]], target: dict[str, str] | None,
                       sources: dict[str, Any]) -> list[dict[str, Any]]:  # fmt: skip
    labelled, dra = found["labelled"], found["dra"]
    checks: list[dict[str, Any]] = [{
        "name": "Virtual GPUs are advertised (vGPU node labels or DRA devices of a vGPU brand)",
        "status": "pass" if labelled or dra else "fail",
        "expected": f"nodes labelled {sources['present_label']}=true, or devices whose {sources['brand_attribute']} "
                    f"matches {sources['brand_pattern']}",
        "observed": {"labelled": list(labelled), "dra": list(dra)},
        "message": "" if labelled or dra else "no virtualized accelerator found",
    }]  # fmt: skip
    if labelled:
        no_driver = [name for name, v in labelled.items() if v["host_driver"] == ""]
        checks.append({
            "name": "vGPU nodes report the host vGPU driver version",
            "status": "fail" if no_driver else "pass",
            "expected": f"{sources['host_driver_label']} on every vGPU node",
            "observed": f"missing on {', '.join(no_driver)}" if no_driver
                        else list(dict.fromkeys(v["host_driver"] for v in labelled.values())),
        })  # fmt: skip
    if (labelled or dra) and not target:
        checks.append({
            "name": "A pod on a vGPU node gets a virtual GPU and runs",
            "status": "fail", "expected": "a vGPU node with a unit to give",
            "observed": f"no labelled vGPU node has allocatable {sources['resource']}",
        })  # fmt: skip
    return checks


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"virtual_gpus": virtual_gpus, "virtual_gpu_target": virtual_gpu_target, "virtual_gpu_checks": virtual_gpu_checks}
