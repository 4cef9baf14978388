"""Which DRA devices verify_high_performance_networking counts as NICs, and its judged steps (plugins/filter/networking.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from unit_fixtures import load_filter_plugin

DATA = Path(__file__).parent / "data" / "probes"
DRIVERS = ["dra.net"]  # the role's defaults
ATTRIBUTE_REGEX = "(?i)(rdma|ifname|interface|macaddress|netdev|\\bnic\\b)"


@pytest.fixture(scope="module")
def net() -> ModuleType:
    return load_filter_plugin("networking")


@pytest.fixture(scope="module")
def gpu_slices() -> list[dict[str, Any]]:
    slices: list[dict[str, Any]] = json.loads((DATA / "lab-resourceslices.json").read_text())
    return slices


def dranet_slice(node: str) -> dict[str, Any]:
    # DRANET publishes one device per interface with attributes such as these (no recording exists here)
    return {"metadata": {"name": f"{node}-dra.net"}, "spec": {"driver": "dra.net", "nodeName": node, "pool": {"name": node},
            "devices": [{"name": "eth1", "attributes": {"dra.net/ifName": {"string": "eth1"}, "dra.net/rdma": {"bool": True}}}]}}  # fmt: skip


def test_gpu_slices_of_the_lab_hold_no_nic(net: ModuleType, gpu_slices: list[dict[str, Any]]) -> None:
    assert sum(len(s["spec"]["devices"]) for s in gpu_slices) == 16
    assert net.nic_devices(gpu_slices, DRIVERS, ATTRIBUTE_REGEX) == []


def test_a_nic_drivers_devices_are_listed_with_their_slice(net: ModuleType, gpu_slices: list[dict[str, Any]]) -> None:
    found = net.nic_devices([*gpu_slices, dranet_slice("sim-gpu-1")], DRIVERS, ATTRIBUTE_REGEX)
    assert found == [{"slice": "sim-gpu-1-dra.net", "node": "sim-gpu-1", "driver": "dra.net", "pool": "sim-gpu-1",
                      "device": "eth1", "attributes": {"dra.net/ifName": {"string": "eth1"}, "dra.net/rdma": {"bool": True}},
                      "capacity": {}}]  # fmt: skip


def test_any_driver_counts_when_an_attribute_looks_like_a_nic(net: ModuleType, gpu_slices: list[dict[str, Any]]) -> None:
    other = copy.deepcopy(gpu_slices[0])
    other["spec"]["devices"][3]["attributes"]["example.com/macAddress"] = {"string": "02:00:00:00:00:01"}
    found = net.nic_devices([other], DRIVERS, ATTRIBUTE_REGEX)
    assert [(d["driver"], d["device"]) for d in found] == [("gpu.nvidia.com", other["spec"]["devices"][3]["name"])]
    assert net.nic_devices([other], DRIVERS, "^nothing$") == []


def test_slices_without_devices_and_no_slices(net: ModuleType) -> None:
    assert net.nic_devices([], DRIVERS, ATTRIBUTE_REGEX) == []
    assert net.nic_devices([{"metadata": {"name": "empty"}, "spec": {"driver": "dra.net"}}], DRIVERS, ATTRIBUTE_REGEX) == []


# ---- the judged steps of the role, on objects recorded from the lab (tests/unit/data/networking/README.md)

REC = Path(__file__).parent / "data" / "networking"
TEMP = "harness-hpn-run-nic"
SOURCES = {"drivers": DRIVERS, "attribute_regex": ATTRIBUTE_REGEX,  # the role's defaults, as vars/main.yml passes them
           "characteristics": {"rdma": "(?i)rdma", "pci": "(?i)pci", "numa": "(?i)numa"},
           "optional_characteristics": {"bandwidth": "(?i)(bandwidth|speed)", "type": "(?i)(type|kind|encapsulation)"},
           "device_class": "", "temp_class": TEMP, "namespace": "harness-hpn-run"}  # fmt: skip
HARDWARE = [{"name": "The pod has the extra network interface", "status": "skip", "required": True, "needs_hardware": True}]
NAMES = ["NIC characteristics are published", "A DeviceClass selects the NIC driver",
         "A pod requesting a NIC claim is allocated a NIC", "The pod lands on a node that publishes the NIC"]  # fmt: skip


def recorded(name: str) -> Any:
    return json.loads((REC / name).read_text())


def read(kind: str, objs: list[dict[str, Any]]) -> dict[str, Any]:
    """One item of a k8s_info loop over kinds, as registered."""
    return {"item": {"kind": kind}, "resources": objs, "changed": False}


def nic_slice(pool: str = "sim-gpu-0-f23f81") -> dict[str, Any]:
    """The recorded fake NIC, in the pool of the recorded claim's run (the slice was recorded in another)."""
    s: dict[str, Any] = recorded("lab-nic-resourceslice.json")
    s["spec"]["pool"]["name"] = pool
    return s


def discovery(gpu_slices: list[dict[str, Any]], slices: list[dict[str, Any]], classes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [read("ResourceSlice", [*slices, *gpu_slices]), read("CustomResourceDefinition", []), read("DeviceClass", classes)]


def test_the_fake_nic_and_its_characteristics_pass(net: ModuleType, gpu_slices: list[dict[str, Any]]) -> None:
    step = net.hpn_nics_step(discovery(gpu_slices, [nic_slice()], recorded("lab-deviceclasses.json")), {"skipped": True}, SOURCES)
    published, characteristics = step["checks"]
    assert published == {
        "name": "NIC devices are published", "status": "pass",
        "expected": "DRA ResourceSlices of a network driver (dra.net, or devices with NIC attributes), or Multus NetworkAttachmentDefinitions",
        "observed": "1 NIC device(s) on node(s) sim-gpu-0 from driver(s) dra.net; ResourceSlice drivers present: dra.net, "
                    "gpu.nvidia.com; Multus: not installed", "message": ""}  # fmt: skip
    seen = {"rdma": ["dra.net/rdma"], "pci": ["dra.net/pciAddress"], "numa": ["dra.net/numaNode"],
            "bandwidth": ["dra.net/bandwidth"], "type": []}  # fmt: skip
    assert characteristics == {"name": "NIC characteristics are published", "status": "pass",
                               "expected": "device attributes/capacities for rdma, pci, numa on the NIC devices", "observed": seen}
    assert step["output"] == {"nic_devices": ["eth1"], "characteristics": seen}
    (f,) = step["files"]
    assert f["name"] == "nic-devices.yaml" and f["data"]["resourceslice_drivers"] == ["dra.net", "gpu.nvidia.com"]
    assert f["data"]["multus_crd_installed"] is False and f["data"]["network_attachment_definitions"] == []
    facts = step["facts"]
    assert (facts["driver"], facts["matching_classes"], facts["class_name"], facts["make_class"]) == (
        "dra.net", ["harness-rec-dranet"], "harness-rec-dranet", False)
    assert [n["device"] for n in facts["nics"]] == ["eth1"]


def test_the_labs_gpus_alone_fail_and_need_no_class(net: ModuleType, gpu_slices: list[dict[str, Any]]) -> None:
    step = net.hpn_nics_step(discovery(gpu_slices, [], recorded("lab-deviceclasses.json")), {"skipped": True}, SOURCES)
    published, characteristics = step["checks"]
    assert published["status"] == "fail" and "ResourceSlice drivers present: gpu.nvidia.com; Multus: not installed" in published["observed"]
    assert published["observed"].startswith("0 NIC device(s) on node(s) none from driver(s) none;")
    assert published["message"] == "no network DRA driver (e.g. DRANET) nor Multus publishes any NIC on this cluster"
    assert characteristics["status"] == "fail" and characteristics["observed"] == "no NIC devices published as DRA devices"
    assert step["facts"]["nics"] == [] and step["facts"]["matching_classes"] == []


def test_multus_attachments_count_as_published(net: ModuleType, gpu_slices: list[dict[str, Any]]) -> None:
    reads = discovery(gpu_slices, [], [])
    reads[1] = read("CustomResourceDefinition", [{"metadata": {"name": "network-attachment-definitions.k8s.cni.cncf.io"}}])
    nads = {"resources": [{"metadata": {"name": "sriov", "namespace": "default"}}]}
    step = net.hpn_nics_step(reads, nads, SOURCES)
    assert step["checks"][0]["status"] == "pass" and step["checks"][0]["observed"].endswith("Multus: 1 NetworkAttachmentDefinition(s)")
    assert step["files"][0]["data"]["network_attachment_definitions"] == [{"name": "sriov", "namespace": "default"}]


def test_a_missing_characteristic_fails(net: ModuleType, gpu_slices: list[dict[str, Any]]) -> None:
    bare = nic_slice()
    del bare["spec"]["devices"][0]["attributes"]["dra.net/numaNode"]
    step = net.hpn_nics_step(discovery(gpu_slices, [bare], []), {}, SOURCES)
    assert step["checks"][1]["status"] == "fail" and step["checks"][1]["observed"]["numa"] == []


def test_the_class_set_wins_and_without_one_the_role_makes_one(net: ModuleType, gpu_slices: list[dict[str, Any]]) -> None:
    classes = recorded("lab-deviceclasses.json")
    chosen = net.hpn_nics_step(discovery(gpu_slices, [nic_slice()], classes), {}, {**SOURCES, "device_class": "mine"})["facts"]
    assert (chosen["class_name"], chosen["make_class"]) == ("mine", False)
    gpu_only = [c for c in classes if c["metadata"]["name"] == "gpu.nvidia.com"]
    made = net.hpn_nics_step(discovery(gpu_slices, [nic_slice()], gpu_only), {}, SOURCES)["facts"]
    assert (made["matching_classes"], made["class_name"], made["make_class"]) == ([], TEMP, True)
    # a longer driver name that contains the NIC driver's does not select it
    longer = [{"metadata": {"name": "x"}, "spec": {"selectors": [{"cel": {"expression": 'device.driver == "dra.net.example"'}}]}}]
    assert net.hpn_nics_step(discovery(gpu_slices, [nic_slice()], longer), {}, SOURCES)["facts"]["matching_classes"] == []


def nics_facts(net: ModuleType, gpu_slices: list[dict[str, Any]], classes: list[dict[str, Any]]) -> dict[str, Any]:
    facts: dict[str, Any] = net.hpn_nics_step(discovery(gpu_slices, [nic_slice()], classes), {}, SOURCES)["facts"]
    return facts


def test_the_recorded_claim_passes(net: ModuleType, gpu_slices: list[dict[str, Any]]) -> None:
    claims, pods = recorded("lab-nic-resourceclaims.json"), recorded("lab-nic-pod.json")
    facts = nics_facts(net, gpu_slices, recorded("lab-deviceclasses.json"))
    step = net.hpn_claim_step([read("Pod", pods), read("ResourceClaim", claims)], facts, SOURCES)
    assert step["checks"] == [
        {"name": "A DeviceClass selects the NIC driver", "status": "pass", "required": False,
         "expected": "a DeviceClass whose selector names driver dra.net", "observed": "harness-rec-dranet"},
        {"name": "A pod requesting a NIC claim is allocated a NIC", "status": "pass",
         "expected": "ResourceClaim allocated a device of driver dra.net (DeviceClass harness-rec-dranet)",
         "observed": [{"driver": "dra.net", "pool": "sim-gpu-0-f23f81", "device": "eth1"}]},
        {"name": "The pod lands on a node that publishes the NIC", "status": "pass",
         "expected": "pod on a node whose ResourceSlice holds the allocated NIC", "observed": "pod on sim-gpu-0; allocated NIC on sim-gpu-0"},
    ]  # fmt: skip
    assert step["output"] == [claims[0]["status"]]
    assert step["files"] == [{"name": "nic-claim.yaml", "data": {"resourceclaims": claims, "pod": pods, "deviceclass": "harness-rec-dranet"}}]
    assert step["command"] == "kubectl get resourceclaims -n harness-hpn-run -o yaml; kubectl get pod nic-client -n harness-hpn-run -o wide"


def test_a_temporary_class_is_an_optional_skip(net: ModuleType, gpu_slices: list[dict[str, Any]]) -> None:
    facts = nics_facts(net, gpu_slices, [])
    step = net.hpn_claim_step([read("Pod", recorded("lab-nic-pod.json")), read("ResourceClaim", recorded("lab-nic-resourceclaims.json"))],
                              facts, SOURCES)  # fmt: skip
    picked = step["checks"][0]
    assert picked["status"] == "skip" and picked["required"] is False
    assert picked["observed"] == f"none; the role used a temporary DeviceClass {TEMP}"


def test_an_unallocated_claim_and_a_nic_on_another_node_fail(net: ModuleType, gpu_slices: list[dict[str, Any]]) -> None:
    facts = nics_facts(net, gpu_slices, [])
    pods = recorded("lab-nic-pod.json")
    pending = copy.deepcopy(pods[0])
    del pending["spec"]["nodeName"]
    pending["status"] = {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}
    unclaimed = [{k: v for k, v in c.items() if k != "status"} for c in recorded("lab-nic-resourceclaims.json")]
    step = net.hpn_claim_step([read("Pod", [pending]), read("ResourceClaim", unclaimed)], facts, SOURCES)
    _, allocated, lands = step["checks"]
    assert allocated["status"] == "fail" and allocated["observed"] == "not allocated; pod PodScheduled=False (Unschedulable)"
    assert lands == {"name": "The pod lands on a node that publishes the NIC", "status": "fail",
                     "expected": "pod on a node whose ResourceSlice holds the allocated NIC", "observed": "pod on no node; allocated NIC on no node"}
    assert step["output"] == []
    elsewhere = {**facts, "nics": [{**n, "node": "sim-gpu-1"} for n in facts["nics"]]}
    moved = net.hpn_claim_step([read("Pod", pods), read("ResourceClaim", recorded("lab-nic-resourceclaims.json"))], elsewhere, SOURCES)
    assert moved["checks"][2]["status"] == "fail" and moved["checks"][2]["observed"] == "pod on sim-gpu-0; allocated NIC on sim-gpu-1"


def test_checks_no_step_reached_are_skipped_then_the_hardware_ones(net: ModuleType) -> None:
    nics_step = {"checks": [{"name": "NIC devices are published"}, {"name": "NIC characteristics are published"}]}
    closing = net.hpn_closing_checks([nics_step, {"skipped": True}], NAMES, HARDWARE)
    assert [c["name"] for c in closing] == NAMES[1:] + [HARDWARE[0]["name"]]
    assert closing[0] == {"name": "A DeviceClass selects the NIC driver", "status": "skip", "required": True,
                          "message": "not reached: no NIC devices are published as DRA devices"}  # fmt: skip
    claim_step = {"checks": [{"name": n} for n in NAMES[1:]]}
    assert net.hpn_closing_checks([nics_step, claim_step], NAMES, HARDWARE) == HARDWARE
    assert [c["name"] for c in net.hpn_closing_checks([{}, {}], NAMES, [])] == NAMES
