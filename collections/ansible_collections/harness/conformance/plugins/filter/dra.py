# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""What ResourceSlices publish, in the shapes the verify roles report (``verify_dra_support``).

A device is named as the scheduler names an allocation result: ``<driver>/<pool>/<device>``.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.harness.conformance.plugins.module_utils.dra_devices import device_id

DOCUMENTATION = r"""
name: slice_device_ids
short_description: The devices ResourceSlices publish, and one summary line per slice
version_added: "0.3.0"
description:
  - C(slices | harness.conformance.slice_device_ids) lists C(<driver>/<pool>/<device>) of every published device.
  - C(slices | harness.conformance.slice_summaries) gives each slice's name, driver, node, pool and device count.
positional: _input
options:
  _input:
    description: ResourceSlice objects.
    type: list
    required: true
"""


def slice_device_ids(slices: list[dict[str, Any]] | None) -> list[str]:
    return [device_id(s["spec"]["driver"], s["spec"]["pool"]["name"], d["name"])
            for s in slices or [] for d in s["spec"].get("devices") or []]  # fmt: skip


def slice_summaries(slices: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{"name": s["metadata"]["name"], "driver": s["spec"]["driver"], "node": s["spec"].get("nodeName", ""),
             "pool": s["spec"]["pool"]["name"], "devices": len(s["spec"].get("devices") or [])} for s in slices or []]  # fmt: skip


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"slice_device_ids": slice_device_ids, "slice_summaries": slice_summaries}
