"""harness.simlab: the status reader (records, alive check, probe) and the DRA driver's slice shape."""

from __future__ import annotations

import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness.simlab import dra_driver, status


def node(name: str = "sim-gpu-0", count: str = "2") -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": "u-1", "labels": {
        "nvidia.com/gpu.count": count, "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
        "nvidia.com/gpu.memory": "81559", "nvidia.com/gpu.family": "hopper",
        "nvidia.com/gpu.compute.major": "9", "nvidia.com/gpu.compute.minor": "0",
        "nvidia.com/cuda.driver-version.full": "580.95.05", "nvidia.com/cuda.runtime-version.full": "13.0"}}}


def test_slice_has_one_device_per_gpu_with_nvidia_attributes() -> None:
    sl = dra_driver.desired_slice(node())
    spec = sl["spec"]
    assert spec["driver"] == "gpu.nvidia.com" and spec["nodeName"] == "sim-gpu-0"
    assert spec["pool"] == {"name": "sim-gpu-0", "generation": 1, "resourceSliceCount": 1}
    assert [d["name"] for d in spec["devices"]] == ["gpu-0", "gpu-1"]
    attrs = spec["devices"][0]["attributes"]
    assert attrs["productName"] == {"string": "NVIDIA H100 80GB HBM3"}
    assert attrs["architecture"] == {"string": "Hopper"}
    # DRA version attributes must be semver: no leading zeros, three parts.
    assert attrs["driverVersion"] == {"version": "580.95.5"}
    assert attrs["cudaComputeCapability"] == {"version": "9.0.0"}
    assert attrs["cudaDriverVersion"] == {"version": "13.0.0"}
    assert spec["devices"][0]["capacity"] == {"memory": {"value": "81559Mi"}}
    assert attrs["uuid"] != spec["devices"][1]["attributes"]["uuid"]
    assert sl["metadata"]["ownerReferences"][0]["name"] == "sim-gpu-0"


def test_slice_hash_follows_content_not_generation() -> None:
    a = dra_driver.desired_slice(node())
    assert dra_driver.desired_slice(node(), generation=5)["metadata"]["annotations"] == a["metadata"]["annotations"]
    assert dra_driver.desired_slice(node(count="4"))["metadata"]["annotations"] != a["metadata"]["annotations"]
    assert dra_driver.desired_slice(node())["spec"]["devices"][0]["attributes"]["uuid"] == \
        a["spec"]["devices"][0]["attributes"]["uuid"], "UUIDs must be stable across runs"


def test_state_dir_and_kubeconfig_paths(monkeypatch: Any) -> None:
    monkeypatch.delenv("HARNESS_SIM_STATE_DIR", raising=False)
    assert status.lab_state_dir({"sim_lab_state_dir": "~/lab"}) == Path("~/lab").expanduser()
    assert status.lab_state_dir({"sim_lab_state_dir": "{{ x }}"}) == Path(status.DEFAULT_STATE_DIR).expanduser()
    assert status.lab_state_dir({}) == Path(status.DEFAULT_STATE_DIR).expanduser()
    monkeypatch.setenv("HARNESS_SIM_STATE_DIR", "/tmp/other")
    assert status.lab_state_dir({"sim_lab_state_dir": "~/lab"}) == Path("/tmp/other")
    assert status.kubeconfig_path(Path("/s")) == Path("/s/kubeconfig")


def test_read_components_checks_alive_and_health(tmp_path: Path) -> None:
    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200 if self.path == "/healthz" else 500)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    me = os.getpid()
    start = status._starttime(me)
    comps = tmp_path / "components"
    comps.mkdir()
    records: dict[str, dict[str, Any]] = {
        "good": {"pid": me, "starttime": start, "health_url": f"http://127.0.0.1:{port}/healthz", "started": "1"},
        "sick": {"pid": me, "starttime": start, "health_url": f"http://127.0.0.1:{port}/bad", "started": "2"},
        "recycled": {"pid": me, "starttime": (start or 0) + 1, "started": "3"},
        "gone": {"pid": 2**22 + 7, "started": "4"},
    }
    for name, rec in records.items():
        (comps / f"{name}.json").write_text(json.dumps({"name": name, **rec}))
    (comps / "broken.json").write_text("{not json")
    try:
        got = {c.name: c for c in status.read_components(tmp_path)}
    finally:
        server.shutdown()
    assert set(got) == set(records)
    assert got["good"].state == "running" and got["good"].healthy is True
    assert got["sick"].state == "unhealthy" and got["sick"].detail == "HTTP 500"
    assert got["recycled"].state == "dead" and got["gone"].state == "dead"
    assert got["good"].to_dict()["state"] == "running"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    assert status.probe(f"tcp://127.0.0.1:{closed}")[0] is False


class _SliceStore:
    """What the DRA driver writes, kept as the API server would keep it (resourceVersion bumps)."""

    def __init__(self) -> None:
        self.slices: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []

    def _stored(self, body: dict[str, Any]) -> dict[str, Any]:
        stored = json.loads(json.dumps(body))
        stored["metadata"]["resourceVersion"] = str(len(self.calls))
        self.slices[stored["metadata"]["name"]] = stored
        return stored

    def create_cluster_custom_object(self, group: str, version: str, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(f"create {body['metadata']['name']}")
        return self._stored(body)

    def replace_cluster_custom_object(self, group: str, version: str, plural: str, name: str,
                                      body: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        self.calls.append(f"replace {name} generation {body['spec']['pool']['generation']}")
        return self._stored(body)

    def delete_cluster_custom_object(self, group: str, version: str, plural: str, name: str) -> None:
        self.calls.append(f"delete {name}")
        self.slices.pop(name, None)


def test_node_events_write_a_slice_only_when_its_content_changes() -> None:
    driver = dra_driver.Driver.__new__(dra_driver.Driver)
    driver.driver, driver._known = dra_driver.DRIVER, {}
    store = _SliceStore()
    driver.custom = store  # type: ignore[assignment]
    driver.on_event("ADDED", node())
    heartbeat = {**node(), "status": {"conditions": [{"type": "Ready", "lastHeartbeatTime": "2026-12-03T11:00:00Z"}]}}
    driver.on_event("MODIFIED", heartbeat)  # kwok renewing the status: nothing to write
    driver.on_event("MODIFIED", node(count="4"))
    driver.on_event("MODIFIED", node(count="4"))
    driver.on_event("DELETED", node(count="4"))
    name = dra_driver.slice_name("sim-gpu-0")
    assert store.calls == [f"create {name}", f"replace {name} generation 2", f"delete {name}"]
    assert driver._known == {} and store.slices == {}
