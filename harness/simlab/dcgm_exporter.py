"""Simulated NVIDIA DCGM exporter for the local-sim lab.

Serves dcgm-exporter-shaped Prometheus series for every simulated GPU on the nodes labelled
``nvidia.com/gpu.present=true``. A GPU is "held" by a Running pod that either requests
``nvidia.com/gpu`` (GPUs are handed out per node, deterministically and sticky while the pod
lives) or owns a ResourceClaim whose allocation names that device. Held GPUs carry the pod's
``namespace``/``pod``/``container`` labels, as the real exporter does with the kubelet's
pod-resources API. Utilisation of a held GPU comes from a pod annotation; idle GPUs report 0.

    python -m harness.simlab.dcgm_exporter --kubeconfig K --listen 127.0.0.1:19400

The GPUs are simulated: no value here was measured on hardware.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from harness.simlab.serving import LastGood, send, serve

JSON = Mapping[str, Any]

GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
GPU_RESOURCE = "nvidia.com/gpu"
UTIL_ANNOTATION = "harness.dev/simulated-gpu-utilization"
DEFAULT_DRA_DRIVERS = ("gpu.nvidia.com",)
DEFAULT_MODEL = "NVIDIA H100 80GB HBM3"
DEFAULT_MEMORY_MIB = 81559
# A held GPU without the annotation is busy: a pod that asked for a GPU is using it.
DEFAULT_HELD_UTILIZATION = 100.0

IDLE_SM_CLOCK_MHZ = 345
MAX_SM_CLOCK_MHZ = 1980
IDLE_POWER_W = 70.0
MAX_POWER_W = 700.0
IDLE_TEMP_C = 32

log = logging.getLogger("harness.simlab.dcgm_exporter")


@dataclass(frozen=True)
class Gpu:
    node: str
    index: int
    uuid: str
    model: str
    memory_mib: int


@dataclass(frozen=True)
class Holder:
    namespace: str
    pod: str
    container: str
    utilization: float


@dataclass(frozen=True)
class Sample:
    gpu: Gpu
    holder: Holder | None


@dataclass
class ClusterState:
    nodes: Sequence[JSON] = field(default_factory=list)
    pods: Sequence[JSON] = field(default_factory=list)
    claims: Sequence[JSON] = field(default_factory=list)
    slices: Sequence[JSON] = field(default_factory=list)


# (pod uid, container name) -> GPU indices on the pod's node; kept between refreshes so a
# pod keeps its GPUs when an older pod on the same node goes away.
Assignment = dict[tuple[str, str], tuple[int, ...]]


def _meta(obj: JSON) -> JSON:
    m = obj.get("metadata")
    return m if isinstance(m, Mapping) else {}


def _attr_value(value: Any) -> Any:
    """A ResourceSlice attribute is typed ({"int": 3}, {"string": "x"}); return the payload."""
    if isinstance(value, Mapping):
        for key in ("int", "string", "version", "bool"):
            if key in value:
                return value[key]
    return value


def _attribute(device: JSON, name: str) -> Any:
    """Look an attribute up by bare name, whatever domain prefix the driver gave it."""
    attrs = device.get("attributes") or {}
    for key, value in attrs.items():
        if key == name or key.rsplit("/", 1)[-1] == name:
            return _attr_value(value)
    return None


def _trailing_int(name: str) -> int | None:
    m = re.search(r"(\d+)$", name)
    return int(m.group(1)) if m else None


def gpu_uuid(node: str, index: int) -> str:
    """A stable, UUID-shaped id for a simulated GPU, the same on every run of the lab."""
    return "GPU-" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"harness-sim/{node}/{index}"))


def is_gpu_node(node: JSON) -> bool:
    return str((_meta(node).get("labels") or {}).get(GPU_PRESENT_LABEL, "")).lower() == "true"


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _device_index(device: JSON, name: str, position: int) -> int:
    """GPU index of a DRA device: its `index` attribute, else the digits ending its name."""
    idx = _int(_attribute(device, "index"), -1)
    if idx < 0:
        trailing = _trailing_int(name)
        idx = trailing if trailing is not None else position
    return idx


@dataclass(frozen=True)
class Inventory:
    gpus: dict[str, list[Gpu]]
    # (driver, pool, device) -> (node, index), from the ResourceSlices
    dra_devices: dict[tuple[str, str, str], tuple[str, int]]


def build_inventory(
    nodes: Iterable[JSON], slices: Iterable[JSON], dra_drivers: Sequence[str] = DEFAULT_DRA_DRIVERS
) -> Inventory:
    """The simulated GPUs of every GPU node: device-plugin count and DRA devices are one set."""
    gpu_nodes = {str(_meta(n).get("name")): n for n in nodes if is_gpu_node(n)}
    per_node: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in gpu_nodes}
    dra: dict[tuple[str, str, str], tuple[str, int]] = {}
    for sl in slices:
        spec = sl.get("spec") or {}
        node = spec.get("nodeName")
        if spec.get("driver") not in dra_drivers or node not in per_node:
            continue
        pool = str((spec.get("pool") or {}).get("name", node))
        for pos, dev in enumerate(spec.get("devices") or []):
            name = str(dev.get("name", ""))
            index = _device_index(dev, name, pos)
            info = per_node[node].setdefault(index, {})
            info.setdefault("uuid", _attribute(dev, "uuid"))
            info.setdefault("model", _attribute(dev, "productName"))
            dra[(str(spec.get("driver")), pool, name)] = (node, index)

    gpus: dict[str, list[Gpu]] = {}
    for name, node in gpu_nodes.items():
        labels = _meta(node).get("labels") or {}
        alloc = ((node.get("status") or {}).get("allocatable") or {}).get(GPU_RESOURCE)
        count = max(_int(alloc), _int(labels.get("nvidia.com/gpu.count")), max(per_node[name], default=-1) + 1)
        # GFD writes the product with dashes; DCGM's modelName (and the DRA driver) uses spaces.
        model = str(labels.get("nvidia.com/gpu.product") or DEFAULT_MODEL).replace("-", " ")
        memory = _int(labels.get("nvidia.com/gpu.memory"), DEFAULT_MEMORY_MIB) or DEFAULT_MEMORY_MIB
        gpus[name] = [
            Gpu(
                node=name,
                index=i,
                uuid=str(per_node[name].get(i, {}).get("uuid") or gpu_uuid(name, i)),
                model=str(per_node[name].get(i, {}).get("model") or model),
                memory_mib=memory,
            )
            for i in range(count)
        ]
    return Inventory(gpus=gpus, dra_devices=dra)


def parse_utilization(value: Any, default: float) -> float:
    """'75' -> 75; a range '10-30' -> its midpoint (stable, so an HPA sees a steady signal)."""
    if value is None:
        return default
    text = str(value).strip().rstrip("%")
    try:
        if "-" in text[1:]:
            lo, hi = (float(p) for p in text.split("-", 1))
            result = (lo + hi) / 2
        else:
            result = float(text)
    except ValueError:
        return default
    return min(100.0, max(0.0, result))


def _is_running(pod: JSON) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and bool((pod.get("spec") or {}).get("nodeName"))


def _pod_key(pod: JSON) -> tuple[str, str, str]:
    m = _meta(pod)
    return (str(m.get("creationTimestamp", "")), str(m.get("namespace", "")), str(m.get("name", "")))


def _gpu_request(container: JSON) -> int:
    res = container.get("resources") or {}
    for section in ("limits", "requests"):
        value = (res.get(section) or {}).get(GPU_RESOURCE)
        if value is not None:
            return _int(value)
    return 0


def _holder(pod: JSON, container: str, default_util: float) -> Holder:
    m = _meta(pod)
    util = parse_utilization((m.get("annotations") or {}).get(UTIL_ANNOTATION), default_util)
    return Holder(namespace=str(m.get("namespace", "")), pod=str(m.get("name", "")), container=container, utilization=util)


def _claim_names(pod: JSON) -> dict[str, str]:
    """Pod-level claim name -> ResourceClaim object name (direct, or generated from a template)."""
    spec_claims = (pod.get("spec") or {}).get("resourceClaims") or []
    statuses = {
        s.get("name"): s.get("resourceClaimName")
        for s in ((pod.get("status") or {}).get("resourceClaimStatuses") or [])
    }
    out: dict[str, str] = {}
    for c in spec_claims:
        name = c.get("name")
        obj = c.get("resourceClaimName") or statuses.get(name)
        if name and obj:
            out[str(name)] = str(obj)
    return out


def _container_for(pod: JSON, claim: str, request: str) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    for c in containers:
        for ref in (c.get("resources") or {}).get("claims") or []:
            if ref.get("name") == claim and ref.get("request") in (None, "", request):
                return str(c.get("name", ""))
    return str(containers[0].get("name", "")) if containers else ""


def dra_holders(
    pods: Iterable[JSON],
    claims: Iterable[JSON],
    inventory: Inventory,
    default_util: float,
    dra_drivers: Sequence[str] = DEFAULT_DRA_DRIVERS,
) -> dict[tuple[str, int], Holder]:
    """GPUs held through DRA: read status.allocation.devices.results of each pod's claims."""
    by_name = {(str(_meta(c).get("namespace")), str(_meta(c).get("name"))): c for c in claims}
    held: dict[tuple[str, int], Holder] = {}
    for pod in sorted(pods, key=_pod_key):
        if not _is_running(pod):
            continue
        ns = str(_meta(pod).get("namespace"))
        node = str(pod["spec"]["nodeName"])
        if node not in inventory.gpus:
            continue
        for pod_claim, obj in _claim_names(pod).items():
            claim = by_name.get((ns, obj))
            if claim is None:
                continue
            alloc = ((claim.get("status") or {}).get("allocation") or {}).get("devices") or {}
            for res in alloc.get("results") or []:
                key = (str(res.get("driver")), str(res.get("pool")), str(res.get("device")))
                located = inventory.dra_devices.get(key)
                if located is None:
                    # No slice seen for it: the simulated convention is pool = node, device = gpu-N.
                    idx = _trailing_int(key[2])
                    if idx is None or key[0] not in dra_drivers:
                        continue
                    located = (node, idx)
                if located[0] != node or located[1] >= len(inventory.gpus[node]):
                    continue
                container = _container_for(pod, pod_claim, str(res.get("request", "")))
                held.setdefault(located, _holder(pod, container, default_util))
    return held


def device_plugin_holders(
    pods: Iterable[JSON],
    inventory: Inventory,
    taken: Iterable[tuple[str, int]],
    previous: Assignment,
    default_util: float,
) -> tuple[dict[tuple[str, int], Holder], Assignment]:
    """Hand out free GPUs to containers that request nvidia.com/gpu, oldest pod first.

    An assignment from the previous refresh is kept while its GPUs are still free, so a
    pod's series do not jump to another GPU when a neighbour finishes.
    """
    free: dict[str, set[int]] = {n: {g.index for g in gs} for n, gs in inventory.gpus.items()}
    for node, idx in taken:
        free.get(node, set()).discard(idx)
    wanted: list[tuple[JSON, str, int]] = []
    for pod in sorted(pods, key=_pod_key):
        if not _is_running(pod) or pod["spec"]["nodeName"] not in free:
            continue
        for c in pod["spec"].get("containers") or []:
            n = _gpu_request(c)
            if n > 0:
                wanted.append((pod, str(c.get("name", "")), n))

    assignment: Assignment = {}
    pending: list[tuple[JSON, str, int]] = []
    for pod, container, n in wanted:
        key = (str(_meta(pod).get("uid") or "/".join(_pod_key(pod)[1:])), container)
        node = pod["spec"]["nodeName"]
        prev = previous.get(key)
        if prev is not None and len(prev) == n and set(prev) <= free[node]:
            assignment[key] = prev
            free[node] -= set(prev)
        else:
            pending.append((pod, container, n))
    for pod, container, n in pending:
        key = (str(_meta(pod).get("uid") or "/".join(_pod_key(pod)[1:])), container)
        node = pod["spec"]["nodeName"]
        got = tuple(sorted(free[node])[:n])
        free[node] -= set(got)
        assignment[key] = got

    held: dict[tuple[str, int], Holder] = {}
    owners = {(str(_meta(p).get("uid") or "/".join(_pod_key(p)[1:])), c): p for p, c, _ in wanted}
    for key, indices in assignment.items():
        pod = owners[key]
        for idx in indices:
            held[(pod["spec"]["nodeName"], idx)] = _holder(pod, key[1], default_util)
    return held, assignment


def snapshot(
    state: ClusterState,
    previous: Assignment | None = None,
    dra_drivers: Sequence[str] = DEFAULT_DRA_DRIVERS,
    default_util: float = DEFAULT_HELD_UTILIZATION,
) -> tuple[list[Sample], Assignment]:
    """Every simulated GPU with the pod holding it, if any."""
    inventory = build_inventory(state.nodes, state.slices, dra_drivers)
    gpu_pods = [p for p in state.pods if (p.get("spec") or {}).get("nodeName") in inventory.gpus]
    held = dra_holders(gpu_pods, state.claims, inventory, default_util, dra_drivers)
    plugin, assignment = device_plugin_holders(gpu_pods, inventory, held.keys(), previous or {}, default_util)
    held.update(plugin)
    samples = [
        Sample(gpu=g, holder=held.get((node, g.index)))
        for node in sorted(inventory.gpus)
        for g in inventory.gpus[node]
    ]
    return samples, assignment


# name, help, value(sample) -- help strings follow dcgm-exporter's default counters.
def _util(s: Sample) -> float:
    return s.holder.utilization if s.holder else 0.0


def _fb_used(s: Sample) -> float:
    # A process holding a GPU has its weights resident even when idle; load adds activations.
    if s.holder is None:
        return 0.0
    return float(round(s.gpu.memory_mib * (0.5 + 0.4 * _util(s) / 100)))


METRICS: tuple[tuple[str, str, Callable[[Sample], float]], ...] = (
    ("DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz).",
     lambda s: float(round(IDLE_SM_CLOCK_MHZ + (MAX_SM_CLOCK_MHZ - IDLE_SM_CLOCK_MHZ) * _util(s) / 100))),
    ("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", lambda s: float(round(IDLE_TEMP_C + 0.5 * _util(s)))),
    ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).",
     lambda s: round(IDLE_POWER_W + (MAX_POWER_W - IDLE_POWER_W) * 0.9 * _util(s) / 100, 3)),
    ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", _util),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "Memory utilization (in %).", lambda s: float(round(0.6 * _util(s)))),
    ("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", lambda s: s.gpu.memory_mib - _fb_used(s)),
    ("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", _fb_used),
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def labels(s: Sample) -> str:
    pairs = [
        ("gpu", str(s.gpu.index)),
        ("UUID", s.gpu.uuid),
        ("device", f"nvidia{s.gpu.index}"),
        ("modelName", s.gpu.model),
        ("Hostname", s.gpu.node),
    ]
    if s.holder is not None:
        pairs += [("container", s.holder.container), ("namespace", s.holder.namespace), ("pod", s.holder.pod)]
    return ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def render(samples: Sequence[Sample]) -> str:
    """Prometheus text exposition format 0.0.4."""
    lines: list[str] = []
    for name, help_text, value in METRICS:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(f"{name}{{{labels(s)}}} {_fmt(value(s))}" for s in samples)
    return "\n".join(lines) + "\n"


class Source(Protocol):
    def fetch(self) -> ClusterState: ...


class FileSource:
    """A JSON file {nodes, pods, claims, slices}: for tests and for running without a cluster."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fetch(self) -> ClusterState:
        data = json.loads(self.path.read_text())
        return ClusterState(
            nodes=list(data.get("nodes", [])),
            pods=list(data.get("pods", [])),
            claims=list(data.get("claims", [])),
            slices=list(data.get("slices", [])),
        )


class KubeSource:
    """Lists nodes, Running pods, ResourceClaims and ResourceSlices from the API server.

    Pods and claims are read at every refresh: they say which GPU is held. Nodes and slices, the GPU
    inventory, change when nodes come and go: they are read again only every ``inventory_every``
    seconds. On a 500-node lab they are megabytes, and listing them every 2 s cost the exporter and
    the API server a tenth of a core each.
    """

    def __init__(self, kubeconfig: str, inventory_every: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from kubernetes import client, config  # imported here: unit tests need no client

        self._api = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        self._core = client.CoreV1Api(self._api)
        self._custom = client.CustomObjectsApi(self._api)
        self.inventory_every = inventory_every
        self._clock = clock
        self._inventory: tuple[list[JSON], list[JSON]] | None = None
        self._inventory_at = 0.0

    @staticmethod
    def _items(resp: Any) -> list[JSON]:
        return list(json.loads(resp.data).get("items") or [])

    def _resource(self, plural: str) -> list[JSON]:
        from kubernetes.client.exceptions import ApiException

        try:
            return self._items(
                self._custom.list_cluster_custom_object("resource.k8s.io", "v1", plural, resource_version="0",
                                                       _preload_content=False)
            )
        except ApiException as exc:
            if exc.status == 404:  # DRA not served: device-plugin GPUs only
                return []
            raise

    def _gpu_inventory(self) -> tuple[list[JSON], list[JSON]]:
        now = self._clock()
        if self._inventory is None or now - self._inventory_at >= self.inventory_every:
            nodes = self._items(self._core.list_node(label_selector=f"{GPU_PRESENT_LABEL}=true", resource_version="0",
                                                     _preload_content=False))
            self._inventory, self._inventory_at = (nodes, self._resource("resourceslices")), now
        return self._inventory

    # resourceVersion "0": served from the API server's watch cache instead of read through from etcd.
    def fetch(self) -> ClusterState:
        nodes, slices = self._gpu_inventory()
        pods = self._items(
            self._core.list_pod_for_all_namespaces(field_selector="status.phase=Running", resource_version="0",
                                                   _preload_content=False)
        )
        return ClusterState(nodes=nodes, pods=pods, claims=self._resource("resourceclaims"), slices=slices)


def fingerprint(state: ClusterState) -> tuple[Any, ...]:
    """What a snapshot depends on, cheaply: each object's uid and resourceVersion (its JSON when it has
    none, as in a state file). Equal fingerprints give equal metrics."""

    def ident(obj: JSON) -> Any:
        meta = obj.get("metadata") or {}
        rv = meta.get("resourceVersion")
        return (meta.get("uid"), rv) if rv else json.dumps(obj, sort_keys=True)

    return tuple(tuple(ident(o) for o in objs) for objs in (state.nodes, state.pods, state.claims, state.slices))


class Exporter(LastGood[ClusterState, tuple[str, Assignment, tuple[Any, ...]]]):
    """Refreshes the snapshot from a source; the HTTP handler only reads the rendered text.

    The value kept is the rendered text with the GPU assignment it came from, so a held GPU
    keeps its pod from one refresh to the next, and the fingerprint of the state it was built from:
    an unchanged cluster is not rendered again (4,000 GPUs on a 500-node lab).
    """

    def __init__(self, source: Source, dra_drivers: Sequence[str] = DEFAULT_DRA_DRIVERS,
                 default_util: float = DEFAULT_HELD_UTILIZATION, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(source.fetch, self._snapshot, clock)
        self.source = source
        self.dra_drivers = tuple(dra_drivers)
        self.default_util = default_util

    def _snapshot(
        self, state: ClusterState, previous: tuple[str, Assignment, tuple[Any, ...]] | None
    ) -> tuple[str, Assignment, tuple[Any, ...]]:
        seen = fingerprint(state)
        if previous is not None and previous[2] == seen:
            return previous
        samples, assignment = snapshot(state, previous[1] if previous else {}, self.dra_drivers, self.default_util)
        return render(samples), assignment, seen

    def metrics(self) -> str | None:
        current = self.value()
        return current[0] if current else None


def make_handler(exporter: Exporter, max_age: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: str, ctype: str = "text/plain; charset=utf-8") -> None:
            send(self, code, body, ctype)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                text = exporter.metrics()
                if text is None:
                    self._send(503, "no snapshot yet\n")
                else:
                    self._send(200, text, "text/plain; version=0.0.4; charset=utf-8")
            elif path == "/healthz":
                ok = exporter.healthy(max_age)
                self._send(200 if ok else 503, "ok\n" if ok else f"stale: {exporter.last_error}\n")
            else:
                self._send(404, "not found\n")

        def log_message(self, format: str, *args: Any) -> None:  # scrapes every few seconds: keep logs quiet
            log.debug(format, *args)

    return Handler


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--kubeconfig", help="kubeconfig of the lab's API server")
    src.add_argument("--state-file", type=Path, help="JSON {nodes,pods,claims,slices} instead of a cluster")
    ap.add_argument("--listen", default="127.0.0.1:19400")
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes")
    ap.add_argument("--inventory-interval", type=float, default=30.0,
                    help="seconds between reads of the GPU nodes and ResourceSlices (pods and claims: every refresh)")
    ap.add_argument("--dra-driver", action="append", help="DRA driver whose devices are GPUs (repeatable)")
    ap.add_argument("--default-utilization", type=float, default=DEFAULT_HELD_UTILIZATION,
                    help="utilisation of a held GPU whose pod has no annotation")
    ap.add_argument("--once", action="store_true", help="print the metrics once and exit")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    source: Source = FileSource(args.state_file) if args.state_file else KubeSource(args.kubeconfig, args.inventory_interval)
    exporter = Exporter(source, args.dra_driver or DEFAULT_DRA_DRIVERS, args.default_utilization)
    exporter.refresh()
    if args.once:
        print(exporter.metrics() or "", end="")
        return 0 if exporter.metrics() is not None else 1

    log.info("serving simulated DCGM metrics on http://%s/metrics", args.listen)
    handler = make_handler(exporter, max(10.0, 5 * args.interval))
    return serve(args.listen, handler, refresh=exporter.refresh, interval=args.interval)


if __name__ == "__main__":
    raise SystemExit(main())
