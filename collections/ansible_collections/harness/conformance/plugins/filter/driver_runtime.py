# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Which driver and CUDA versions the accelerator nodes advertise, and whether that holds up
(``verify_driver_runtime_management``).

A node advertises versions in two places: the DRA driver's device attributes in its ResourceSlices
(``driverVersion``, ``cudaDriverVersion``, plain or prefixed with the driver name) and GPU Feature
Discovery's node labels (``nvidia.com/cuda.driver-version.full``, ...). The two are written at
different precisions (580.95.5 in DRA, 580.95.05 in the label), so versions are compared number by
number at their shared precision.

- ``advertised_versions``: per accelerator node, the versions of both sources and the runtime;
- ``advertised_version_checks``: the check records judging them;
- ``driver_versions_step``: the whole notebook step of the advertised versions, from the role's
  registered reads, for ``harness.conformance.evidence``'s ``step:`` (its facts plan the probe);
- ``driver_probe_step``: the step of the driver a container sees (``nvidia-smi`` in a probe pod).

The step filters take the registered ``k8s_info`` results as they are: on a 500-node lab the Node and
ResourceSlice lists are megabytes, and every Jinja expression that copies them costs seconds, so
they go from the registered result straight into Python and only small facts come back.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.harness.conformance.plugins.filter.probes import (
    accelerator_nodes,
    container_nodes,
    driver_version_checks,
    gpu_probe_pods,
    needs_accelerator,
)
from ansible_collections.harness.conformance.plugins.module_utils.dra_devices import attribute_value
from ansible_collections.harness.conformance.plugins.module_utils.k8s_results import evidence_file, read_resources

DOCUMENTATION = r"""
name: advertised_versions
short_description: The driver and CUDA versions accelerator nodes advertise, and their judgement into checks
version_added: "0.3.0"
description:
  - C(nodes | harness.conformance.advertised_versions(slices, sources)) maps each accelerator node (matching
    I(sources.node_selector), or named by a ResourceSlice) to the versions its DRA device attributes and its
    labels advertise, its container runtime and kubelet versions.
  - C(seen | harness.conformance.advertised_version_checks(sources)) judges them into check records.
  - C(reads | harness.conformance.driver_versions_step(sources)) is the whole step for
    C(harness.conformance.evidence)'s I(step) (title, command, output, files, checks) from the registered
    C(k8s_info) loop over Node and ResourceSlice; its C(facts) plan the probe (C(probe_pods), C(real_nodes),
    C(advertised)).
  - C(probe_results | harness.conformance.driver_probe_step(plan, sources)) is the step of the driver a probe
    container sees; I(plan) is the facts of C(driver_versions_step).
positional: _input
options:
  _input:
    description: >-
      Node objects (C(advertised_versions)), what C(advertised_versions) returned, the registered reads
      (C(driver_versions_step)) or C(probe_results) (C(driver_probe_step)).
    type: raw
    required: true
  slices:
    description: The DRA driver's ResourceSlices.
    type: list
  plan:
    description: The C(facts) of C(driver_versions_step).
    type: dict
  sources:
    description: >-
      Where versions are advertised: C(node_selector), C(dra_driver), C(driver_attribute), C(cuda_attribute),
      C(driver_label), C(cuda_label); for the checks also C(expected_driver) and C(expected_cuda); for the
      steps also C(resource) (of one accelerator) and C(namespace) (of the probe pods).
    type: dict
    required: true
"""

VERSIONS_TITLE = "Accelerator nodes advertise their driver and runtime versions, consistently"
PROBE_TITLE = "A pod given an accelerator sees the driver at the advertised version"
PROBE_POD = "driver"

_NUMBER = re.compile(r"\d+")


def same_version(a: Any, b: Any) -> bool:
    """580.95.5 and 580.95.05 agree; 13.0 and 13.0.0 agree; 575 and 580 do not; nothing agrees with ''."""
    x = [int(n) for n in _NUMBER.findall(str(a))]
    y = [int(n) for n in _NUMBER.findall(str(b))]
    n = min(len(x), len(y))
    return n > 0 and x[:n] == y[:n]


def _is_accelerator(labels: dict[str, Any], selector: str) -> bool:
    key, _, value = selector.partition("=")
    return bool(key) and key in labels and (not value or labels[key] == value)


def advertised_versions(nodes: list[dict[str, Any]], slices: list[dict[str, Any]] | None,
                        sources: dict[str, Any]) -> dict[str, dict[str, Any]]:  # fmt: skip
    slices = slices or []
    driver = str(sources["dra_driver"])
    wanted = {"driver": str(sources["driver_attribute"]), "cuda": str(sources["cuda_attribute"])}
    named = {s.get("spec", {}).get("nodeName") for s in slices} - {None}
    out: dict[str, dict[str, Any]] = {}
    for node in sorted(nodes or [], key=lambda n: n["metadata"]["name"]):
        name = node["metadata"]["name"]
        labels = node["metadata"].get("labels") or {}
        if not (_is_accelerator(labels, str(sources["node_selector"])) or name in named):
            continue
        found: dict[str, set[str]] = {"driver": set(), "cuda": set()}
        for s in slices:
            if (s.get("spec") or {}).get("nodeName", "") != name:
                continue
            for device in s["spec"].get("devices") or []:
                for key, attr in (device.get("attributes") or {}).items():
                    for what, short in wanted.items():
                        if key in (short, f"{driver}/{short}"):
                            found[what].add(attribute_value(attr))
        info = (node.get("status") or {}).get("nodeInfo") or {}
        out[name] = {
            "dra_driver": sorted(found["driver"]),
            "dra_cuda": sorted(found["cuda"]),
            "label_driver": labels.get(sources["driver_label"], ""),
            "label_cuda": labels.get(sources["cuda_label"], ""),
            "container_runtime": info.get("containerRuntimeVersion", ""),
            "kubelet": info.get("kubeletVersion", ""),
        }
    return out


def _verdict(seen: dict[str, dict[str, Any]], expected: dict[str, Any]) -> dict[str, list[str]]:
    v: dict[str, list[str]] = {k: [] for k in ("no_driver", "no_cuda", "disagree", "compared", "no_runtime", "unexpected")}
    for name, s in seen.items():
        values = {
            "driver": s["dra_driver"] + ([s["label_driver"]] if s["label_driver"] else []),
            "cuda": s["dra_cuda"] + ([s["label_cuda"]] if s["label_cuda"] else []),
        }
        if not values["driver"]:
            v["no_driver"].append(name)
        if not values["cuda"]:
            v["no_cuda"].append(name)
        for what, vals in values.items():
            if len(vals) > 1:
                v["compared"].append(f"{name} {what}")
                v["disagree"] += [f"{name} {what}: {vals[0]} vs {o}" for o in vals[1:] if not same_version(vals[0], o)]
        for what, want in expected.items():
            if not want:
                continue
            v["unexpected"] += [f"{name} {what} {got} (expected {want})" for got in values[what]
                                if not same_version(want, got)]  # fmt: skip
            if not values[what]:
                v["unexpected"].append(f"{name} {what} not advertised (expected {want})")
        if not s["container_runtime"]:
            v["no_runtime"].append(name)
    return v


def advertised_version_checks(seen: dict[str, dict[str, Any]], sources: dict[str, Any]) -> list[dict[str, Any]]:
    expected = {k: "" if sources.get(f"expected_{k}") is None else str(sources[f"expected_{k}"]) for k in ("driver", "cuda")}
    v = _verdict(seen, expected)
    nodes = list(seen)
    count = f"advertised on {len(nodes)} nodes"
    checks: list[dict[str, Any]] = [
        {"name": "Accelerator nodes are found",
         "status": "pass" if nodes else "fail",
         "expected": f"nodes labelled {sources['node_selector']} or named by a ResourceSlice of {sources['dra_driver']}",
         "observed": nodes},
        {"name": "Every accelerator node advertises its driver version",
         "status": "pass" if nodes and not v["no_driver"] else "fail",
         "expected": f"DRA attribute {sources['driver_attribute']} or label {sources['driver_label']}",
         "observed": f"missing on {', '.join(v['no_driver'])}" if v["no_driver"] else count},
        {"name": "Every accelerator node advertises its CUDA version",
         "status": "pass" if nodes and not v["no_cuda"] else "fail",
         "expected": f"DRA attribute {sources['cuda_attribute']} or label {sources['cuda_label']}",
         "observed": f"missing on {', '.join(v['no_cuda'])}" if v["no_cuda"] else count},
        {"name": "DRA attributes and node labels advertise the same versions (at their shared precision)",
         "status": "fail" if v["disagree"] else ("pass" if v["compared"] else "skip"),
         "required": False,
         "expected": "e.g. 580.95.5 (DRA) matches 580.95.05 (label)",
         "observed": v["disagree"] or v["compared"],
         "message": "" if v["compared"] else "only one source advertises versions; nothing to compare"},
        {"name": "Every accelerator node reports its container runtime",
         "status": "pass" if nodes and not v["no_runtime"] else "fail",
         "expected": "status.nodeInfo.containerRuntimeVersion set",
         "observed": list(dict.fromkeys(s["container_runtime"] for s in seen.values())) if not v["no_runtime"]
                     else f"missing on {', '.join(v['no_runtime'])}"},
    ]  # fmt: skip
    if expected["driver"] or expected["cuda"]:
        checks.append({
            "name": "The advertised versions are the expected ones",
            "status": "pass" if nodes and not v["unexpected"] else "fail",
            "expected": {"driver": sources.get("expected_driver"), "cuda": sources.get("expected_cuda")},
            "observed": v["unexpected"] or "as expected",
        })  # fmt: skip
    return checks


def _advertised_on(seen: dict[str, dict[str, Any]], node: str, sources: dict[str, Any]) -> dict[str, str]:
    """What the probe's node advertises, by source, for ``driver_version_checks`` ('' where it says nothing)."""
    s = seen.get(node) or {}
    return {
        f"label {sources['driver_label']}": str(s.get("label_driver") or ""),
        f"DRA attribute {sources['driver_attribute']}": str((s.get("dra_driver") or [""])[0]),
    }


def driver_versions_step(reads: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """The notebook step of the advertised versions, from the role's one read of Nodes and ResourceSlices.

    Its facts are what the probe step needs and nothing bigger: the probe pods (one accelerator on a
    node that runs containers), the nodes that run containers, and what the probe's node advertises.
    """
    nodes, slices = read_resources(reads, "Node"), read_resources(reads, "ResourceSlice")
    seen = advertised_versions(nodes, slices, sources)
    resource = str(sources.get("resource") or "nvidia.com/gpu")
    pods = gpu_probe_pods(accelerator_nodes(nodes, resource, slices, str(sources["dra_driver"])), [PROBE_POD], resource)
    return {
        "title": VERSIONS_TITLE,
        "command": (f"kubectl get nodes -l {sources['node_selector']} -L {sources['driver_label']},{sources['cuda_label']} "
                    "-o custom-columns=NAME:.metadata.name,RUNTIME:.status.nodeInfo.containerRuntimeVersion; "
                    f"kubectl get resourceslices --field-selector spec.driver={sources['dra_driver']} -o yaml"),
        "output": seen,
        "files": [evidence_file("nodes.yaml", [n["metadata"] for n in nodes if n["metadata"]["name"] in seen]),
                  evidence_file("resourceslices.yaml", slices)],
        "checks": advertised_version_checks(seen, sources),
        "facts": {
            "probe_pods": pods,
            "real_nodes": container_nodes(nodes),
            "advertised": _advertised_on(seen, pods[0]["node"], sources) if pods else {},
        },
    }  # fmt: skip


def driver_probe_step(probe_results: Any, plan: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """The notebook step of the driver nvidia-smi reports inside the probe pod, against what its node
    advertises; without a node that runs containers and has an accelerator, the skipped check that says so."""
    probed = bool((plan or {}).get("probe_pods"))
    results = probe_results or {}
    step: dict[str, Any] = {
        "title": PROBE_TITLE,
        "command": f"kubectl -n {sources['namespace']} logs {PROBE_POD} (probe - nvidia-smi --query-gpu=driver_version)",
        "output": results if probed else "not probed",
        "files": [{"name": "probes.yaml", "data": results}] if probed else [],
    }
    if probed:
        step["checks"] = driver_version_checks(results, PROBE_POD, plan.get("advertised") or {})
    else:
        step["checks"] = needs_accelerator(
            PROBE_TITLE, "nvidia-smi in the pod reports the advertised driver version",
            "a pod given one accelerator would run nvidia-smi --query-gpu=driver_version and compare it with the advertised one",
            (plan or {}).get("real_nodes") or [])  # fmt: skip
    return step


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "advertised_versions": advertised_versions,
            "advertised_version_checks": advertised_version_checks,
            "driver_versions_step": driver_versions_step,
            "driver_probe_step": driver_probe_step,
        }
