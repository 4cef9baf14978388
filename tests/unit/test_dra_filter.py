"""ResourceSlices as verify_dra_support reports them, and its judged steps (plugins/filter/dra.py), on objects
recorded from the lab (tests/unit/data/dra/README.md)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from unit_fixtures import load_filter_plugin

dra = load_filter_plugin("dra")
DATA = Path(__file__).parent / "data"
SLICES = json.loads((DATA / "probes/lab-resourceslices.json").read_text())
NODES = json.loads((DATA / "probes/lab-nodes.json").read_text())


def recorded(name: str) -> Any:
    return json.loads((DATA / "dra" / name).read_text())


# the role's defaults, as vars/main.yml passes them
SOURCES = {"api_version": "resource.k8s.io/v1", "resources": ["deviceclasses", "resourceclaims", "resourceclaimtemplates",
           "resourceslices"], "driver": "gpu.nvidia.com", "device_class": "gpu.nvidia.com",
           "namespace": "harness-dra-run", "timeout": 120}  # fmt: skip


def read(kind: str, objs: list[dict[str, Any]]) -> dict[str, Any]:
    """One item of a k8s_info loop over kinds, as registered."""
    return {"item": {"kind": kind}, "resources": objs, "changed": False}


def by_name(step: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in step["checks"]}


def test_devices_are_named_as_allocation_results_name_them() -> None:
    ids = dra.slice_device_ids(SLICES)
    assert len(ids) == 16 and ids[0] == "gpu.nvidia.com/sim-gpu-0/gpu-0" and ids[-1] == "gpu.nvidia.com/sim-gpu-1/gpu-7"
    assert dra.slice_device_ids([]) == []


def test_one_summary_per_slice() -> None:
    summaries = dra.slice_summaries(SLICES)
    assert [(s["node"], s["pool"], s["devices"]) for s in summaries] == [("sim-gpu-0", "sim-gpu-0", 8), ("sim-gpu-1", "sim-gpu-1", 8)]
    bare = {"metadata": {"name": "network"}, "spec": {"driver": "net.example.com", "pool": {"name": "p"}}}
    assert dra.slice_summaries([bare]) == [{"name": "network", "driver": "net.example.com", "node": "", "pool": "p", "devices": 0}]


def test_the_lab_serves_the_api_and_lists_its_resources() -> None:
    step = dra.dra_api_step(recorded("lab-apis.json"), SOURCES)
    assert step["title"] == "The DRA API is discoverable" and step["facts"] == {"api_ok": True}
    assert step["output"] == {"served": ["resource.k8s.io/v1"], "resources": ["deviceclasses", "devicetaintrules",
                              "resourceclaims", "resourceclaimtemplates", "resourceslices"]}  # fmt: skip
    served, listed = step["checks"]
    assert served == {"name": "resource.k8s.io/v1 is served", "status": "pass", "expected": "resource.k8s.io/v1",
                      "observed": ["resource.k8s.io/v1"]}  # fmt: skip
    assert listed["status"] == "pass" and listed["message"] == "" and listed["expected"] == SOURCES["resources"]


def test_an_api_version_not_served_fails_and_stops_the_reads() -> None:
    step = dra.dra_api_step(recorded("lab-apis.json"), {**SOURCES, "api_version": "resource.k8s.io/v2"})
    assert step["facts"] == {"api_ok": False}
    served, listed = step["checks"]
    assert served["name"] == "resource.k8s.io/v2 is served" and served["status"] == "fail"
    assert listed["status"] == "fail" and listed["observed"] == []
    assert listed["message"] == "missing: deviceclasses, resourceclaims, resourceclaimtemplates, resourceslices"


def test_a_resource_missing_from_the_version_is_named() -> None:
    apis = recorded("lab-apis.json")
    del apis["resource.k8s.io/v1"]["ResourceClaimTemplate"]
    listed = dra.dra_api_step(apis, SOURCES)["checks"][1]
    assert listed["status"] == "fail" and listed["message"] == "missing: resourceclaimtemplates"


def test_the_labs_slices_and_class_pass() -> None:
    step = dra.dra_published_step([read("ResourceSlice", SLICES), read("DeviceClass", recorded("lab-deviceclasses.json")),
                                   read("Node", NODES)], SOURCES)  # fmt: skip
    assert step["facts"] == {"class_found": True}
    assert [f["name"] for f in step["files"]] == ["resourceslices.yaml", "deviceclass.yaml"]
    assert step["output"]["deviceclass"] == ["gpu.nvidia.com"] and len(step["output"]["slices"]) == 2
    assert step["checks"] == [
        {"name": "At least one ResourceSlice of driver gpu.nvidia.com publishes devices", "status": "pass",
         "expected": ">= 1 device in a ResourceSlice", "observed": "2 slices, 16 devices"},
        {"name": "DeviceClass gpu.nvidia.com exists", "status": "pass", "expected": "present", "observed": "present"},
    ]


def test_a_missing_class_and_another_driver_fail() -> None:
    sources = {**SOURCES, "driver": "dra.net", "device_class": "nonexistent.example.com"}
    step = dra.dra_published_step([read("ResourceSlice", SLICES), read("DeviceClass", [])], sources)
    assert step["facts"] == {"class_found": False}
    checks = by_name(step)
    assert checks["At least one ResourceSlice of driver dra.net publishes devices"]["observed"] == "0 slices, 0 devices"
    assert checks["DeviceClass nonexistent.example.com exists"] == {"name": "DeviceClass nonexistent.example.com exists",
                                                                    "status": "fail", "expected": "present", "observed": "absent"}  # fmt: skip


def test_no_driver_counts_every_slice_and_skipped_reads_count_none() -> None:
    anyone = dra.dra_published_step([read("ResourceSlice", SLICES)], {**SOURCES, "driver": ""})
    assert anyone["checks"][0]["name"] == "At least one ResourceSlice of driver (any) publishes devices"
    assert anyone["checks"][0]["status"] == "pass"
    skipped = [{"item": {"kind": k}, "skipped": True} for k in ("ResourceSlice", "DeviceClass", "Node")]
    step = dra.dra_published_step(skipped, SOURCES)
    assert [c["status"] for c in step["checks"]] == ["fail", "fail"] and step["facts"] == {"class_found": False}
    assert dra.dra_published_step([], SOURCES)["files"] == [{"name": "resourceslices.yaml", "data": []},
                                                            {"name": "deviceclass.yaml", "data": []}]  # fmt: skip


def test_without_a_node_that_runs_containers_and_has_a_device_nothing_is_probed() -> None:
    step = dra.dra_probe_step({}, [], NODES, SOURCES)
    assert step["output"] == "not probed" and step["files"] == []
    assert step["command"] == "kubectl -n harness-dra-run logs claimed (probe - ls /dev/nvidia[0-9]*; nvidia-smi -L)"
    (check,) = step["checks"]
    assert check["name"] == "The container sees the allocated device" and check["status"] == "skip"
    assert check["needs_hardware"] and check["required"] and check["observed"] == "not probed"
    assert check["message"] == ("Needs real hardware: on a node that runs containers, the container would list "
                                "/dev/nvidia[0-9]* and nvidia-smi -L would name the allocated device; no node that runs "
                                "containers offers an accelerator (simulated nodes run no containers).")  # fmt: skip
    assert "no node runs containers" in dra.dra_probe_step(None, [], [], SOURCES)["checks"][0]["message"]


def test_a_probed_container_is_judged_on_what_it_saw() -> None:
    pods = [{"name": "claimed", "node": "harness-node"}]
    seen = {"claimed": {"phase": "Succeeded", "node": "harness-node", "ready": False, "why": "", "containers": {"probe": {
        "reported": True, "devices": 1, "device_names": ["nvidia0"], "smi_rc": 0, "smi_uuids": ["GPU-1"]}}}}
    step = dra.dra_probe_step(seen, pods, NODES, SOURCES)
    assert step["files"] == [{"name": "probes.yaml", "data": seen}] and step["output"] == seen
    assert [(c["name"], c["status"]) for c in step["checks"]] == [("A pod with a ResourceClaim sees its device in the container", "pass")]
    silent = dra.dra_probe_step({}, pods, NODES, SOURCES)["checks"][0]
    assert silent["status"] == "error" and silent["observed"] == "pod claimed was not found"


def test_the_labs_allocation_passes() -> None:
    pod, claim = recorded("lab-pod.json"), recorded("lab-resourceclaim.json")
    applied = {"changed": True, "result": {"results": [{"result": {"kind": "ResourceClaimTemplate"}}]}}
    step = dra.dra_allocation_step([read("Pod", [pod]), read("ResourceClaim", [claim])], applied, SLICES, SOURCES)
    assert step["files"] == [{"name": "applied.yaml", "data": applied["result"]}, {"name": "pod.yaml", "data": pod},
                             {"name": "resourceclaim.yaml", "data": claim}]  # fmt: skip
    assert step["output"] == {"pod": {"phase": "Running", "node": "sim-gpu-0", "unschedulable": ""},
                              "claim": claim["metadata"]["name"], "allocated": ["gpu.nvidia.com/sim-gpu-0/gpu-0"]}  # fmt: skip
    uid = pod["metadata"]["uid"]
    assert step["checks"] == [
        {"name": "The scheduler allocates a device for a claim made from a ResourceClaimTemplate", "status": "pass",
         "expected": "status.allocation.devices.results non-empty", "observed": ["gpu.nvidia.com/sim-gpu-0/gpu-0"], "message": ""},
        {"name": "The allocated device is one that driver gpu.nvidia.com publishes", "status": "pass",
         "expected": "a device of gpu.nvidia.com listed in a ResourceSlice", "observed": ["gpu.nvidia.com/sim-gpu-0/gpu-0"]},
        {"name": "The claim is reserved for the pod that uses it", "status": "pass",
         "expected": f"status.reservedFor holds pod uid {uid}", "observed": [uid]},
        {"name": "The pod using the claim reaches Running", "status": "pass", "expected": "Running", "observed": "Running",
         "message": ""},
    ]  # fmt: skip


def test_an_unschedulable_pod_fails_every_allocation_check() -> None:
    pod, claim = recorded("lab-pending-pod.json"), recorded("lab-pending-resourceclaim.json")
    step = dra.dra_allocation_step([read("Pod", [pod]), read("ResourceClaim", [claim])], {}, SLICES, SOURCES)
    why = pod["status"]["conditions"][0]["message"]
    assert "device class nonexistent.example.com does not exist" in why
    assert step["output"]["pod"] == {"phase": "Pending", "node": "", "unschedulable": why}
    assert step["files"][0] == {"name": "applied.yaml", "data": {}}
    checks = by_name(step)
    assert all(c["status"] == "fail" for c in checks.values())
    allocates = checks["The scheduler allocates a device for a claim made from a ResourceClaimTemplate"]
    assert allocates["observed"] == "no allocation" and allocates["message"] == why
    assert checks["The claim is reserved for the pod that uses it"]["observed"] == []
    assert checks["The pod using the claim reaches Running"]["message"] == f"not Running after 120s: {why}"


def test_a_device_no_slice_publishes_or_of_another_driver_fails() -> None:
    pod, claim = recorded("lab-pod.json"), recorded("lab-resourceclaim.json")
    reads = [read("Pod", [pod]), read("ResourceClaim", [claim])]
    unpublished = by_name(dra.dra_allocation_step(reads, {}, SLICES[1:], SOURCES))
    assert unpublished["The allocated device is one that driver gpu.nvidia.com publishes"]["status"] == "fail"
    other = by_name(dra.dra_allocation_step(reads, {}, SLICES, {**SOURCES, "driver": "dra.net"}))
    assert other["The allocated device is one that driver dra.net publishes"]["status"] == "fail"
    anyone = by_name(dra.dra_allocation_step(reads, {}, SLICES, {**SOURCES, "driver": ""}))
    assert anyone["The allocated device is one that driver (any) publishes"]["status"] == "pass"
    assert anyone["The allocated device is one that driver (any) publishes"]["expected"] == "a device of a driver listed in a ResourceSlice"


def test_a_claim_reserved_for_another_pod_and_no_objects_at_all() -> None:
    pod, claim = recorded("lab-pod.json"), copy.deepcopy(recorded("lab-resourceclaim.json"))
    claim["status"]["reservedFor"][0]["uid"] = "someone-else"
    checks = by_name(dra.dra_allocation_step([read("Pod", [pod]), read("ResourceClaim", [claim])], {}, SLICES, SOURCES))
    assert checks["The claim is reserved for the pod that uses it"]["status"] == "fail"
    empty = dra.dra_allocation_step([read("Pod", []), read("ResourceClaim", [])], {}, SLICES, SOURCES)
    assert empty["output"] == {"pod": {"phase": "(no pod)", "node": "", "unschedulable": ""}, "claim": "(none)", "allocated": []}
    running = by_name(empty)["The pod using the claim reaches Running"]
    assert running["observed"] == "(no pod)" and running["message"] == "not Running after 120s"
    assert by_name(empty)["The claim is reserved for the pod that uses it"]["expected"] == "status.reservedFor holds pod uid "
