# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Which DRA devices are network interfaces (``verify_high_performance_networking``): those of a known NIC
driver, or with an attribute whose name looks like a NIC's. One pass over the ResourceSlices: a lab of
500 nodes publishes 4,000 devices, which a looped ``set_fact`` took minutes to walk."""

from __future__ import annotations

import re
from typing import Any

DOCUMENTATION = r"""
name: nic_devices
short_description: The DRA devices that are network interfaces
version_added: "0.4.0"
description:
  - C(slices | harness.conformance.nic_devices(drivers, attribute_regex)) returns, in the order of the slices and
    their devices, C({slice, node, driver, pool, device, attributes, capacity}) of each device whose slice's driver
    is one of I(drivers), or that has an attribute whose name I(attribute_regex) finds (C(re.search)).
positional: _input
options:
  _input:
    description: ResourceSlice objects.
    type: list
    required: true
  drivers:
    description: DRA driver names of network devices.
    type: list
    required: true
  attribute_regex:
    description: A device with an attribute whose name this finds is a NIC, whatever its driver.
    type: str
    required: true
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


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"nic_devices": nic_devices}
