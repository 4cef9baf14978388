# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Which virtual GPUs a cluster advertises, where a test pod can get one, and the judgement
(``verify_virtualized_accelerator``).

A vGPU node is advertised by GPU Feature Discovery's ``nvidia.com/vgpu.present=true`` label (with the
host driver version beside it), or by DRA devices whose ``brand`` attribute names a vGPU product
(NvidiaVCS, NvidiaVWS, ...).

- ``virtual_gpus``: the labelled vGPU nodes and the vGPU devices in ResourceSlices, per node;
- ``virtual_gpu_target``: the mechanism and node a test pod should use ({} when none can);
- ``virtual_gpu_checks``: the check records judging what is advertised;
- ``virtual_gpus_step``, ``virtual_probe_step``, ``virtual_pod_step``: the role's three notebook steps,
  whole, for ``harness.conformance.evidence``'s ``step:``, from what the tasks before them registered
  (the first one's facts say where the test pod and the probe go).

The steps take the registered ``k8s_info`` results as they are: on a 500-node lab the Node and
ResourceSlice lists are megabytes that no Jinja expression should copy; only small facts come back.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.harness.conformance.plugins.module_utils.k8s_results import evidence_file, read_resources
from ansible_collections.harness.conformance.plugins.filter.probes import (
    accelerator_nodes,
    container_nodes,
    gpu_probe_pods,
    needs_accelerator,
    virtualization_checks,
)
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
  - C(reads | harness.conformance.virtual_gpus_step(sources)) is the step "Virtual GPUs are advertised" from the
    registered C(k8s_info) loop over Node and ResourceSlice; its C(facts) are C(target), C(probe_pods) and
    C(real_nodes).
  - C(probe_results | harness.conformance.virtual_probe_step(plan, sources)) is the step of what C(nvidia-smi -L)
    listed in the probe pod (I(plan) is the facts of C(virtual_gpus_step)).
  - C(reads | harness.conformance.virtual_pod_step(applied, target, sources)) is the step of the test pod, from
    the registered loop that waited for the pod and read its claims, and the result of the apply.
positional: _input
options:
  _input:
    description: >-
      Node objects, what C(virtual_gpus) returned, the registered reads, or C(probe_results), depending on the
      filter.
    type: raw
    required: true
  plan:
    description: The C(facts) of C(virtual_gpus_step).
    type: dict
  applied:
    description: The registered result of applying the test pod (and its claim template).
    type: dict
  slices:
    description: The DRA driver's ResourceSlices.
    type: list
  target:
    description: What C(virtual_gpu_target) returned.
    type: dict
  sources:
    description: >-
      The role's settings: C(present_label), C(host_driver_label), C(product_label), C(resource), C(dra_driver),
      C(brand_attribute), C(brand_pattern); for the steps also C(namespace).
    type: dict
    required: true
"""

ADVERTISED_TITLE = "Virtual GPUs are advertised"
PROBE_TITLE = "The pod's accelerator is a virtual GPU"
POD_TITLE = "A pod on a vGPU node gets a virtual GPU and runs"
PROBE_POD = "virtual"



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


def virtual_gpus_step(reads: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """The step "Virtual GPUs are advertised", from the role's one read of Nodes and ResourceSlices.

    Its facts are where the test pod goes (``target``, {} when nowhere) and the probe plan: a pod given
    one accelerator on a node that runs containers (``probe_pods``), and those nodes (``real_nodes``).
    """
    nodes, slices = read_resources(reads, "Node"), read_resources(reads, "ResourceSlice")
    found = virtual_gpus(nodes, slices, sources)
    target = virtual_gpu_target(found)
    resource = str(sources["resource"])
    gpu_nodes = accelerator_nodes(nodes, resource, slices, str(sources["dra_driver"]))
    return {
        "title": ADVERTISED_TITLE,
        "command": (f"kubectl get nodes -L {sources['present_label']},{sources['host_driver_label']},{sources['product_label']}; "
                    f"kubectl get resourceslices --field-selector spec.driver={sources['dra_driver']} -o yaml"),
        "output": {"labelled_nodes": found["labelled"], "dra_vgpu_devices": found["dra"],
                   "test_pod": target or "no node to run it on"},
        "files": [evidence_file("resourceslices.yaml", slices)],
        "checks": virtual_gpu_checks(found, target, sources),
        "facts": {"target": target, "probe_pods": gpu_probe_pods(gpu_nodes, [PROBE_POD], resource),
                  "real_nodes": container_nodes(nodes)},
    }  # fmt: skip


def virtual_probe_step(probe_results: Any, plan: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """The step of what ``nvidia-smi -L`` lists in a pod given one accelerator (MIG devices or a vGPU);
    without a node that runs containers and has an accelerator, the skipped check that says so."""
    probed = bool((plan or {}).get("probe_pods"))
    results = probe_results or {}
    return {
        "title": PROBE_TITLE,
        "command": f"kubectl -n {sources['namespace']} logs {PROBE_POD} (probe - nvidia-smi -L)",
        "output": results if probed else "not probed",
        "files": [{"name": "probes.yaml", "data": results}] if probed else [],
        "checks": virtualization_checks(results, PROBE_POD, {}) if probed else needs_accelerator(
            PROBE_TITLE, "nvidia-smi -L in the pod lists MIG devices or a vGPU",
            "a pod given one accelerator would list its devices with nvidia-smi -L (MIG or vGPU)",
            (plan or {}).get("real_nodes") or []),
    }  # fmt: skip


def _allocated(claims: list[dict[str, Any]]) -> list[str]:
    """The devices the claims were allocated, in order."""
    return [str(r.get("device")) for c in claims
            for r in ((((c.get("status") or {}).get("allocation") or {}).get("devices") or {}).get("results") or [])]  # fmt: skip


def virtual_pod_step(reads: Any, applied: Any, target: dict[str, str], sources: dict[str, Any]) -> dict[str, Any]:
    """The step of the test pod: it runs on the target node, and through DRA it was allocated a device.

    ``reads``: the registered loop that waited for the pod (Pod) and read the claims (ResourceClaim);
    a pod that never ran is judged from the last read of it.
    """
    pod = (read_resources(reads, "Pod") or [{}])[0] or {}
    claims = read_resources(reads, "ResourceClaim")
    phase = (pod.get("status") or {}).get("phase") or "(no pod)"
    node = (pod.get("spec") or {}).get("nodeName") or ""
    dra = target.get("mechanism") == "dra"
    allocated = _allocated(claims)
    ok = phase == "Running" and node == target.get("node") and (not dra or bool(allocated))
    applied_result = applied.get("result", {}) if isinstance(applied, dict) else {}
    ns = sources["namespace"]
    return {
        "title": POD_TITLE,
        "command": f"kubectl -n {ns} get pod vgpu-pod -o wide; kubectl -n {ns} get resourceclaims",
        "output": {"mechanism": target.get("mechanism"), "phase": phase, "node": node, "allocated": allocated},
        "files": [{"name": "applied.yaml", "data": applied_result}, {"name": "pod.yaml", "data": pod},
                  {"name": "resourceclaims.yaml", "data": claims}],
        "checks": [{
            "name": POD_TITLE,
            "status": "pass" if ok else "fail",
            "expected": f"Running on {target.get('node')} with one {'vGPU device claimed' if dra else sources['resource']}",
            "observed": f"{phase} on {node or '(unscheduled)'}" + (f", devices {','.join(allocated)}" if dra else ""),
        }],
    }  # fmt: skip


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "virtual_gpus": virtual_gpus,
            "virtual_gpu_target": virtual_gpu_target,
            "virtual_gpu_checks": virtual_gpu_checks,
            "virtual_gpus_step": virtual_gpus_step,
            "virtual_probe_step": virtual_probe_step,
            "virtual_pod_step": virtual_pod_step,
        }
