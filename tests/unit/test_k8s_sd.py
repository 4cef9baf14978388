"""The Kubernetes -> Prometheus HTTP SD bridge, on fake objects (no API server)."""

from __future__ import annotations

import ipaddress
import json
import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from typing import Any

from harness.simlab import k8s_sd as sd

NETS = [ipaddress.ip_network(c) for c in sd.DEFAULT_ALLOW]


def service(name: str, ns: str = "backends", **annotations: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/part-of": "x"},
                         "annotations": annotations}}


def endpointslice(svc: str, addresses: list[str], port: int, ns: str = "backends",
                  target: dict[str, str] | None = None) -> dict[str, Any]:
    ep: dict[str, Any] = {"addresses": addresses, "conditions": {"ready": True}}
    if target:
        ep["targetRef"] = target
    return {"metadata": {"name": f"{svc}-x", "namespace": ns, "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "endpoints": [ep], "ports": [{"name": "http", "port": port, "protocol": "TCP"}]}


def test_selectorless_service_slice_becomes_a_target_with_kubernetes_sd_labels() -> None:
    groups = sd.endpointslice_targets(
        [service("backend-a", **{"prometheus.io/scrape": "true", "prometheus.io/path": "/metrics"})],
        [endpointslice("backend-a", ["10.250.0.2"], 8001)], [], NETS)
    assert len(groups) == 1
    g = groups[0]
    assert g["targets"] == ["10.250.0.2:8001"]
    lbl = g["labels"]
    assert lbl["__meta_kubernetes_namespace"] == "backends"
    assert lbl["__meta_kubernetes_service_name"] == "backend-a"
    assert lbl["__meta_kubernetes_service_annotation_prometheus_io_scrape"] == "true"
    assert lbl["__meta_kubernetes_service_annotationpresent_prometheus_io_scrape"] == "true"
    assert lbl["__meta_kubernetes_service_label_app_kubernetes_io_part_of"] == "x"
    assert lbl["__meta_kubernetes_endpointslice_port_name"] == "http"
    assert lbl["__meta_kubernetes_endpointslice_endpoint_conditions_ready"] == "true"


def test_addresses_outside_the_allowed_networks_are_never_served() -> None:
    """kwok pod IPs (10.244/16) are fictional: no target may point at them."""
    slices = [endpointslice("kwok-svc", ["10.244.0.7", "192.0.2.1"], 80,
                            target={"kind": "Pod", "name": "p", "namespace": "backends"})]
    assert sd.endpointslice_targets([service("kwok-svc")], slices, [], NETS) == []
    pods = [{"metadata": {"name": "p", "namespace": "backends"}, "spec": {"containers": [{"name": "c"}]},
             "status": {"podIP": "10.244.0.7", "phase": "Running"}}]
    assert sd.pod_targets(pods, NETS) == []


def test_pod_role_emits_one_group_per_container_port() -> None:
    pod = {
        "metadata": {"name": "srv", "namespace": "ns", "uid": "u1",
                     "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9000"}},
        "spec": {"nodeName": "n0", "containers": [
            {"name": "main", "ports": [{"containerPort": 8001, "name": "http"}, {"containerPort": 9000}]},
            {"name": "side"}]},
        "status": {"podIP": "10.250.0.2", "phase": "Running",
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }
    groups = sd.pod_targets([pod], NETS)
    assert [g["targets"] for g in groups] == [["10.250.0.2:8001"], ["10.250.0.2:9000"]]
    lbl = groups[0]["labels"]
    assert lbl["__meta_kubernetes_pod_name"] == "srv" and lbl["__meta_kubernetes_pod_ready"] == "true"
    assert lbl["__meta_kubernetes_pod_annotation_prometheus_io_port"] == "9000"
    assert lbl["__meta_kubernetes_pod_container_port_name"] == "http"
    portless = dict(pod, spec={"containers": [{"name": "c"}]})
    assert sd.pod_targets([portless], NETS)[0]["targets"] == ["10.250.0.2"]


def test_slice_endpoint_with_pod_ref_carries_pod_labels() -> None:
    pod = {"metadata": {"name": "p", "namespace": "backends", "labels": {"app": "m"}}}
    groups = sd.endpointslice_targets(
        [service("svc")], [endpointslice("svc", ["127.0.0.1"], 80, target={"kind": "Pod", "name": "p"})], [pod], NETS)
    assert groups[0]["labels"]["__meta_kubernetes_pod_name"] == "p"
    assert groups[0]["labels"]["__meta_kubernetes_pod_label_app"] == "m"


class FakeSource:
    def __init__(self) -> None:
        self.fail = False

    def fetch(self) -> sd.Objects:
        if self.fail:
            raise ConnectionError("apiserver down")
        return sd.Objects(services=[service("backend-a")], slices=[endpointslice("backend-a", ["10.250.0.2"], 8001)])


def test_http_endpoints_serve_json_and_keep_the_last_good_answer() -> None:
    src = FakeSource()
    now = [0.0]
    disc = sd.Discovery(src, NETS, clock=lambda: now[0])
    disc.refresh()
    src.fail = True
    disc.refresh()  # fails: the previous groups stay
    assert disc.last_error and "apiserver down" in disc.last_error
    server = ThreadingHTTPServer(("127.0.0.1", 0), sd.make_handler(disc, 30))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(base + "/targets/endpointslices", timeout=5) as r:
            assert json.load(r)[0]["targets"] == ["10.250.0.2:8001"]
        with urllib.request.urlopen(base + "/targets/pods", timeout=5) as r:
            assert json.load(r) == []
        with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
            assert r.status == 200
        now[0] = 100.0
        try:
            urllib.request.urlopen(base + "/healthz", timeout=5)
            raise AssertionError("a stale bridge must not report healthy")
        except urllib.error.HTTPError as err:
            assert err.code == 503
    finally:
        server.shutdown()
        server.server_close()
