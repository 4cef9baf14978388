"""Kubernetes service discovery for Prometheus over HTTP SD, for the local-sim lab.

Debian's Prometheus is built without `kubernetes_sd_configs`, so this process reads the lab's
Services, EndpointSlices and pods and serves them as Prometheus HTTP SD target groups with the
same `__meta_kubernetes_*` labels the built-in discovery would set (roles `endpointslice` and
`pod`). The scrape config then relabels them exactly as it would kubernetes_sd targets.

    python -m harness.simlab.k8s_sd --kubeconfig K --listen 127.0.0.1:19401
    GET /targets/endpointslices    GET /targets/pods    GET /healthz

Only targets inside --allow-cidr networks are served (default loopback and the lab's netns):
kwok pod IPs are fictional, and nothing may be sent to them.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import re
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from harness.simlab.serving import LastGood, send, serve

JSON = Mapping[str, Any]
TargetGroup = dict[str, Any]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_ALLOW = ("127.0.0.0/8", "10.250.0.0/24")
META = "__meta_kubernetes_"

log = logging.getLogger("harness.simlab.k8s_sd")


def sanitize(name: str) -> str:
    """A label name from an annotation or label key, as Prometheus' discovery makes it."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def _meta(obj: JSON) -> JSON:
    m = obj.get("metadata")
    return m if isinstance(m, Mapping) else {}


def _object_labels(kind: str, obj: JSON) -> dict[str, str]:
    """`<kind>_label_<k>`, `<kind>_labelpresent_<k>` and the same for annotations."""
    m = _meta(obj)
    out: dict[str, str] = {}
    for field_name, prefix in (("labels", "label"), ("annotations", "annotation")):
        for key, value in (m.get(field_name) or {}).items():
            out[f"{META}{kind}_{prefix}_{sanitize(key)}"] = str(value)
            out[f"{META}{kind}_{prefix}present_{sanitize(key)}"] = "true"
    return out


def allowed(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _join(host: str, port: Any) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def endpointslice_targets(services: Iterable[JSON], slices: Iterable[JSON], pods: Iterable[JSON],
                          networks: Sequence[Network]) -> list[TargetGroup]:
    """One group per EndpointSlice: its addresses x ports, labelled with its Service and pod."""
    svc_by_key = {(str(_meta(s).get("namespace")), str(_meta(s).get("name"))): s for s in services}
    pod_by_key = {(str(_meta(p).get("namespace")), str(_meta(p).get("name"))): p for p in pods}
    groups: list[TargetGroup] = []
    for sl in sorted(slices, key=lambda s: (str(_meta(s).get("namespace")), str(_meta(s).get("name")))):
        m = _meta(sl)
        ns = str(m.get("namespace", ""))
        svc_name = str((m.get("labels") or {}).get("kubernetes.io/service-name", ""))
        common = {f"{META}namespace": ns, f"{META}endpointslice_name": str(m.get("name", "")),
                  f"{META}endpointslice_address_type": str(sl.get("addressType", ""))}
        svc = svc_by_key.get((ns, svc_name))
        if svc is not None:
            common[f"{META}service_name"] = svc_name
            common.update(_object_labels("service", svc))
        targets: list[tuple[str, dict[str, str]]] = []
        for ep in sl.get("endpoints") or []:
            cond = ep.get("conditions") or {}
            ref = ep.get("targetRef") or {}
            ep_labels = {
                f"{META}endpointslice_endpoint_conditions_ready": str(cond.get("ready", True)).lower(),
                f"{META}endpointslice_endpoint_hostname": str(ep.get("hostname") or ""),
            }
            if ep.get("nodeName"):
                ep_labels[f"{META}endpointslice_endpoint_node_name"] = str(ep["nodeName"])
            if ref.get("kind"):
                ep_labels[f"{META}endpointslice_address_target_kind"] = str(ref["kind"])
                ep_labels[f"{META}endpointslice_address_target_name"] = str(ref.get("name", ""))
            if ref.get("kind") == "Pod":
                pod = pod_by_key.get((str(ref.get("namespace") or ns), str(ref.get("name"))))
                ep_labels[f"{META}pod_name"] = str(ref.get("name", ""))
                if pod is not None:
                    ep_labels.update(_object_labels("pod", pod))
            for addr in ep.get("addresses") or []:
                if not allowed(str(addr), networks):
                    continue
                for port in sl.get("ports") or [{}]:
                    if port.get("port") is None:
                        continue
                    lbl = dict(ep_labels)
                    lbl[f"{META}endpointslice_port"] = str(port["port"])
                    lbl[f"{META}endpointslice_port_name"] = str(port.get("name") or "")
                    lbl[f"{META}endpointslice_port_protocol"] = str(port.get("protocol") or "TCP")
                    targets.append((_join(str(addr), port["port"]), lbl))
        groups.extend({"targets": [t], "labels": {**common, **lbl}} for t, lbl in targets)
    return groups


def pod_targets(pods: Iterable[JSON], networks: Sequence[Network]) -> list[TargetGroup]:
    """One group per pod container port (or per pod without ports), as the `pod` role does."""
    groups: list[TargetGroup] = []
    for pod in sorted(pods, key=lambda p: (str(_meta(p).get("namespace")), str(_meta(p).get("name")))):
        m = _meta(pod)
        status = pod.get("status") or {}
        ip = str(status.get("podIP") or "")
        if not ip or not allowed(ip, networks):
            continue
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        common = {
            f"{META}namespace": str(m.get("namespace", "")),
            f"{META}pod_name": str(m.get("name", "")),
            f"{META}pod_ip": ip,
            f"{META}pod_node_name": str((pod.get("spec") or {}).get("nodeName") or ""),
            f"{META}pod_phase": str(status.get("phase") or ""),
            f"{META}pod_ready": str(ready).lower(),
            f"{META}pod_uid": str(m.get("uid") or ""),
            **_object_labels("pod", pod),
        }
        any_port = False
        for c in (pod.get("spec") or {}).get("containers") or []:
            for port in c.get("ports") or []:
                any_port = True
                groups.append({"targets": [_join(ip, port.get("containerPort"))], "labels": {
                    **common,
                    f"{META}pod_container_name": str(c.get("name", "")),
                    f"{META}pod_container_port_name": str(port.get("name") or ""),
                    f"{META}pod_container_port_number": str(port.get("containerPort")),
                    f"{META}pod_container_port_protocol": str(port.get("protocol") or "TCP"),
                }})
        if not any_port:
            groups.append({"targets": [ip], "labels": common})
    return groups


@dataclass
class Objects:
    services: Sequence[JSON] = field(default_factory=list)
    slices: Sequence[JSON] = field(default_factory=list)
    pods: Sequence[JSON] = field(default_factory=list)


class Source(Protocol):
    def fetch(self) -> Objects: ...


class KubeSource:
    def __init__(self, kubeconfig: str) -> None:
        from kubernetes import client, config  # imported here: unit tests need no client

        api = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        self._core = client.CoreV1Api(api)
        self._discovery = client.DiscoveryV1Api(api)

    def fetch(self) -> Objects:
        def items(resp: Any) -> list[JSON]:
            return list(json.loads(resp.data).get("items") or [])

        return Objects(
            services=items(self._core.list_service_for_all_namespaces(_preload_content=False)),
            slices=items(self._discovery.list_endpoint_slice_for_all_namespaces(_preload_content=False)),
            pods=items(self._core.list_pod_for_all_namespaces(_preload_content=False)),
        )


class Discovery(LastGood[Objects, dict[str, list[TargetGroup]]]):
    """Refreshes the target groups from a source; handlers read the last good copy."""

    def __init__(self, source: Source, networks: Sequence[Network], clock: Callable[[], float] = time.monotonic):
        super().__init__(source.fetch, self._targets, clock)
        self.source = source
        self.networks = list(networks)

    def _targets(self, objs: Objects, _previous: dict[str, list[TargetGroup]] | None) -> dict[str, list[TargetGroup]]:
        return {
            "endpointslices": endpointslice_targets(objs.services, objs.slices, objs.pods, self.networks),
            "pods": pod_targets(objs.pods, self.networks),
        }

    def groups(self, role: str) -> list[TargetGroup] | None:
        current = self.value()
        return None if current is None else current.get(role)


def make_handler(discovery: Discovery, max_age: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: str, ctype: str = "text/plain; charset=utf-8") -> None:
            send(self, code, body, ctype)

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?", 1)[0]
            if path.startswith("/targets/"):
                groups = discovery.groups(path.removeprefix("/targets/"))
                if groups is None:
                    # Prometheus keeps the previous targets when HTTP SD fails: better than an empty list.
                    self._send(503 if discovery.groups("pods") is None else 404, "[]", "application/json")
                else:
                    self._send(200, json.dumps(groups), "application/json")
            elif path == "/healthz":
                ok = discovery.healthy(max_age)
                self._send(200 if ok else 503, "ok\n" if ok else f"stale: {discovery.last_error}\n", "text/plain")
            else:
                self._send(404, "not found\n", "text/plain")

        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

    return Handler


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Kubernetes -> Prometheus HTTP SD bridge for the local-sim lab")
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--listen", default="127.0.0.1:19401")
    ap.add_argument("--interval", type=float, default=5.0, help="seconds between reads of the cluster")
    ap.add_argument("--allow-cidr", action="append", help=f"networks targets may be in (default {DEFAULT_ALLOW})")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    networks = [ipaddress.ip_network(c) for c in (args.allow_cidr or DEFAULT_ALLOW)]
    discovery = Discovery(KubeSource(args.kubeconfig), networks)
    discovery.refresh()
    log.info("serving HTTP SD on http://%s/targets/{endpointslices,pods}", args.listen)
    handler = make_handler(discovery, max(15.0, 5 * args.interval))
    return serve(args.listen, handler, refresh=discovery.refresh, interval=args.interval)


if __name__ == "__main__":
    raise SystemExit(main())
