"""Simulated DRA driver for the lab's kwok GPU nodes.

A real DRA driver runs a kubelet plugin on every node and publishes that node's devices as
ResourceSlices. The simulated nodes have no kubelet, so this process publishes, from outside,
one ``resource.k8s.io/v1`` ResourceSlice per simulated GPU node, shaped like the slices of
NVIDIA's DRA driver (driver ``gpu.nvidia.com``, one device per GPU, same attribute names).
The scheduler then allocates ResourceClaims against them like against real GPUs.

The node's GPU Feature Discovery style labels (``nvidia.com/gpu.count``, ``.product``,
``.memory``, ...) are the source of truth: a node that changes gets a new slice, a node that
goes away loses its slice (also through the owner reference, by garbage collection).

Run: ``python -m harness.simlab.dra_driver --kubeconfig <state>/kubeconfig``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

LOG = logging.getLogger("harness.simlab.dra_driver")

DRIVER = "gpu.nvidia.com"
GROUP, VERSION, PLURAL = "resource.k8s.io", "v1", "resourceslices"
MANAGED_BY = "harness-sim-dra-driver"
HASH_ANNOTATION = "harness.dev/slice-spec-hash"
# Fixed namespace for the simulated GPU UUIDs: the same node and index always give the same UUID.
UUID_NAMESPACE = uuid.UUID("6f1c2d1e-8a55-4c61-9a4e-5e2b3c7d9f10")

ARCHITECTURES = {"hopper": "Hopper", "ampere": "Ampere", "blackwell": "Blackwell",
                 "ada-lovelace": "Ada Lovelace", "turing": "Turing", "volta": "Volta"}

Obj = dict[str, Any]


def semver(raw: str) -> str:
    """A DRA version attribute must be semver: "580.95.05" -> "580.95.5", "9.0" -> "9.0.0"."""
    parts = [str(int(p)) for p in re.findall(r"\d+", raw)[:3]]
    parts += ["0"] * (3 - len(parts))
    return ".".join(parts)


def slice_name(node: str, driver: str = DRIVER) -> str:
    return f"{node}-{driver.replace('.', '-')}"


def devices_for(node: Obj) -> list[Obj]:
    """The node's GPUs as DRA devices, from its feature-discovery labels."""
    labels: dict[str, str] = node["metadata"].get("labels") or {}
    name = node["metadata"]["name"]
    count = int(labels.get("nvidia.com/gpu.count", "0") or 0)
    product = labels.get("nvidia.com/gpu.product", "NVIDIA-GPU")
    memory_mib = int(labels.get("nvidia.com/gpu.memory", "0") or 0)
    family = labels.get("nvidia.com/gpu.family", "")
    compute = "%s.%s" % (labels.get("nvidia.com/gpu.compute.major", "0"),
                         labels.get("nvidia.com/gpu.compute.minor", "0"))
    driver_version = labels.get("nvidia.com/cuda.driver-version.full", "0.0.0")
    cuda_version = labels.get("nvidia.com/cuda.runtime-version.full", "0.0")
    devices = []
    for index in range(count):
        bus_id = "0000:%02x:00.0" % (0x18 + index * 0x10)
        devices.append({
            "name": f"gpu-{index}",
            "attributes": {
                "type": {"string": "gpu"},
                "uuid": {"string": "GPU-%s" % uuid.uuid5(UUID_NAMESPACE, f"{name}/{index}")},
                "index": {"int": index},
                "minor": {"int": index},
                "productName": {"string": product.replace("-", " ")},
                "brand": {"string": "Nvidia"},
                "architecture": {"string": ARCHITECTURES.get(family, family.title() or "Unknown")},
                "cudaComputeCapability": {"version": semver(compute)},
                "driverVersion": {"version": semver(driver_version)},
                "cudaDriverVersion": {"version": semver(cuda_version)},
                "pcieBusID": {"string": bus_id},
                "resource.kubernetes.io/pciBusID": {"string": bus_id},
            },
            "capacity": {"memory": {"value": f"{memory_mib}Mi"}},
        })
    return devices


def desired_slice(node: Obj, generation: int = 1, driver: str = DRIVER) -> Obj:
    """The ResourceSlice the node should have (pool = node name, one slice per pool)."""
    name = node["metadata"]["name"]
    spec = {
        "driver": driver,
        "nodeName": name,
        "pool": {"name": name, "generation": generation, "resourceSliceCount": 1},
        "devices": devices_for(node),
    }
    # The hash leaves out the generation, which only changes because the content did.
    digest = hashlib.sha256(json.dumps({**spec, "pool": {"name": name}}, sort_keys=True).encode()).hexdigest()
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ResourceSlice",
        "metadata": {
            "name": slice_name(name, driver),
            "labels": {"app.kubernetes.io/managed-by": MANAGED_BY, "harness.dev/simulated": "true"},
            "annotations": {HASH_ANNOTATION: digest[:16]},
            # Deleting the node garbage-collects its slice even when this driver is not running.
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name,
                                 "uid": node["metadata"]["uid"], "controller": True}],
        },
        "spec": spec,
    }


class _RawWatch(watch.Watch):
    """A watch whose events carry the object as the API server's JSON (a dict), not a client model:
    turning a Node into a model costs more than everything else done for its event."""

    def get_return_type(self, func: Any) -> None:
        return None


class Driver:
    """Keeps the ResourceSlices of the selected nodes in line with those nodes.

    A full reconcile lists nodes and slices; after it, each node event reconciles that one node
    against the slice hashes it remembers. kwok renews every node's status every few seconds, so a
    full list per event kept the API server busy on a 500-node lab.
    """

    def __init__(self, api: client.ApiClient, node_selector: str, driver: str = DRIVER) -> None:
        self.driver = driver
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.api = api
        self.node_selector = node_selector
        self.healthy = threading.Event()
        self.last_error = ""
        self._known: dict[str, Obj] = {}  # slice name -> {hash, resourceVersion, generation} as last seen or written

    def _nodes(self) -> list[Obj]:
        nodes = self.core.list_node(label_selector=self.node_selector)
        return [self._plain(n) for n in nodes.items]

    def _plain(self, model: Any) -> Obj:
        plain: Obj = self.api.sanitize_for_serialization(model)  # type: ignore[no-untyped-call]
        return plain

    def _slices(self) -> dict[str, Obj]:
        found: Any = self.custom.list_cluster_custom_object(
            GROUP, VERSION, PLURAL, label_selector=f"app.kubernetes.io/managed-by={MANAGED_BY}",
            field_selector=f"spec.driver={self.driver}")
        return {s["metadata"]["name"]: s for s in found.get("items", [])}

    def _remember(self, found: Obj) -> None:
        self._known[found["metadata"]["name"]] = {
            "hash": (found["metadata"].get("annotations") or {}).get(HASH_ANNOTATION),
            "resourceVersion": found["metadata"]["resourceVersion"],
            "generation": int(found["spec"]["pool"].get("generation", 0)),
        }

    def reconcile(self) -> None:
        """List the nodes and the slices; publish, update and remove slices until they match."""
        nodes = [n for n in self._nodes() if n["metadata"].get("deletionTimestamp") is None]
        current = self._slices()
        self._known = {}
        for found in current.values():
            self._remember(found)
        for node in nodes:
            self.reconcile_node(node)
        wanted = {slice_name(n["metadata"]["name"], self.driver) for n in nodes}
        for name in set(current) - wanted:
            self.remove(name)

    def reconcile_node(self, node: Obj) -> None:
        """Publish or update this node's slice unless the remembered one already has its content."""
        if node["metadata"].get("deletionTimestamp") is not None:
            return  # its slice goes with it (owner reference)
        want = desired_slice(node, driver=self.driver)
        name = want["metadata"]["name"]
        have = self._known.get(name)
        if have is None:
            created: Any = self.custom.create_cluster_custom_object(GROUP, VERSION, PLURAL, want)
            self._remember(created)
            LOG.info("published %s (%d devices)", name, len(want["spec"]["devices"]))
            return
        if have["hash"] == want["metadata"]["annotations"][HASH_ANNOTATION]:
            return
        # A changed pool gets a higher generation, so the scheduler drops the old devices.
        want = desired_slice(node, have["generation"] + 1, self.driver)
        want["metadata"]["resourceVersion"] = have["resourceVersion"]
        replaced: Any = self.custom.replace_cluster_custom_object(GROUP, VERSION, PLURAL, name, want)
        self._remember(replaced)
        LOG.info("updated %s (generation %d)", name, want["spec"]["pool"]["generation"])

    def remove(self, name: str) -> None:
        try:
            self.custom.delete_cluster_custom_object(GROUP, VERSION, PLURAL, name)
        except ApiException as exc:
            if exc.status != 404:
                raise
        self._known.pop(name, None)
        LOG.info("removed %s (its node is gone)", name)

    def on_event(self, kind: str, node: Obj) -> None:
        LOG.debug("node %s %s", kind, node["metadata"]["name"])
        if kind in ("ADDED", "MODIFIED"):
            self.reconcile_node(node)
        elif kind == "DELETED":
            self.remove(slice_name(node["metadata"]["name"], self.driver))
        elif kind == "ERROR":  # the watch expired (410 Gone, say): start over with a full reconcile
            raise RuntimeError(f"node watch ended: {node.get('message', node)}")

    def run(self, resync: float) -> None:
        """Reconcile, then each node on its events, and everything again at least every `resync` seconds.

        A conflict or any other error starts over with a full reconcile, after a backoff.
        """
        backoff = 1.0
        while True:
            try:
                self.reconcile()
                self.healthy.set()
                self.last_error = ""
                backoff = 1.0
                stream = _RawWatch().stream(  # type: ignore[no-untyped-call]
                    self.core.list_node, label_selector=self.node_selector, timeout_seconds=int(resync))
                for event in stream:
                    self.on_event(event["type"], event["object"])
            except Exception as exc:  # noqa: BLE001 - keep serving; report through /healthz
                self.healthy.clear()
                self.last_error = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                LOG.warning("reconcile failed, retrying in %.0fs: %s", backoff, self.last_error)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)


def serve_health(driver: Driver, address: str) -> ThreadingHTTPServer:
    """/healthz: 200 once the slices are in line with the nodes, 503 while that fails."""
    host, _, port = address.rpartition(":")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.split("?")[0] not in ("/healthz", "/readyz", "/livez"):
                self.send_error(404)
                return
            ok = driver.healthy.is_set()
            body = b"ok\n" if ok else ("not ready: %s\n" % (driver.last_error or "starting")).encode()
            self.send_response(200 if ok else 503)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence probes
            return

    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), Handler)
    threading.Thread(target=server.serve_forever, name="healthz", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Simulated DRA driver: one ResourceSlice per simulated GPU node.")
    parser.add_argument("--kubeconfig", required=True, help="kubeconfig of the lab")
    parser.add_argument("--driver", default=DRIVER, help="DRA driver name the slices are published under")
    parser.add_argument("--node-selector", default="harness.dev/simulated=true",
                        help="label selector of the simulated GPU nodes")
    parser.add_argument("--health-address", default="127.0.0.1:19402", help="host:port of /healthz")
    parser.add_argument("--resync", type=float, default=300, help="seconds between full reconciles")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    api = config.new_client_from_config(config_file=args.kubeconfig)  # type: ignore[no-untyped-call]
    driver = Driver(api, args.node_selector, args.driver)
    serve_health(driver, args.health_address)
    LOG.info("simulated DRA driver %s for nodes %s", args.driver, args.node_selector)
    driver.run(args.resync)


if __name__ == "__main__":
    main()
