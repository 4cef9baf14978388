"""Which DRA devices verify_high_performance_networking counts as NICs (plugins/filter/networking.py)."""

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
