"""ResourceSlices as verify_dra_support reports them (plugins/filter/dra.py), on the slices recorded from the lab."""

from __future__ import annotations

import json
from pathlib import Path

from unit_fixtures import load_filter_plugin

dra = load_filter_plugin("dra")
SLICES = json.loads((Path(__file__).parent / "data/probes/lab-resourceslices.json").read_text())


def test_devices_are_named_as_allocation_results_name_them() -> None:
    ids = dra.slice_device_ids(SLICES)
    assert len(ids) == 16 and ids[0] == "gpu.nvidia.com/sim-gpu-0/gpu-0" and ids[-1] == "gpu.nvidia.com/sim-gpu-1/gpu-7"
    assert dra.slice_device_ids([]) == []


def test_one_summary_per_slice() -> None:
    summaries = dra.slice_summaries(SLICES)
    assert [(s["node"], s["pool"], s["devices"]) for s in summaries] == [("sim-gpu-0", "sim-gpu-0", 8), ("sim-gpu-1", "sim-gpu-1", 8)]
    bare = {"metadata": {"name": "network"}, "spec": {"driver": "net.example.com", "pool": {"name": "p"}}}
    assert dra.slice_summaries([bare]) == [{"name": "network", "driver": "net.example.com", "node": "", "pool": "p", "devices": 0}]
