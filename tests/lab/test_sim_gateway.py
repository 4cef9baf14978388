"""Lab: traefik programs the Gateway, and HTTPRoutes send real requests to real backends.

Each test makes its own HTTPRoute with its own hostname, so tests and the lab's default route
never overlap. Equivalent by hand:
    curl -s -H 'Host: split.sim.test' 127.0.0.1:18080/v1/chat/completions -d '{}' -D - | grep x-backend
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client as kube_client

from simlab_helpers import BACKENDS_NS, gateway_request, wait_for

pytestmark = pytest.mark.lab

# The client's generated models are not worth spelling out here: plain dicts go in.
client: Any = kube_client

GROUP, VERSION = "gateway.networking.k8s.io", "v1"


def _true(conditions: list[dict[str, Any]], kind: str) -> bool:
    return any(c["type"] == kind and c["status"] == "True" for c in conditions)


def _condition(obj: dict[str, Any], kind: str) -> bool:
    return _true(obj.get("status", {}).get("conditions", []), kind)


def test_gateway_is_programmed_with_an_address(k8s: Any) -> None:
    gw = client.CustomObjectsApi(k8s).get_namespaced_custom_object(GROUP, VERSION, BACKENDS_NS, "gateways",
                                                                   "sim-gateway")
    assert _condition(gw, "Programmed") and _condition(gw, "Accepted")
    assert any(a.get("value") == "127.0.0.1" for a in gw["status"].get("addresses", []))


@pytest.fixture()
def route(k8s: Any) -> Iterator[Callable[[list[dict[str, Any]]], str]]:
    """Create an HTTPRoute with the given rules on a fresh hostname; return the hostname."""
    api = client.CustomObjectsApi(k8s)
    made: list[str] = []

    def create(rules: list[dict[str, Any]]) -> str:
        name = f"test-route-{uuid.uuid4().hex[:6]}"
        host = f"{name}.sim.test"
        api.create_namespaced_custom_object(GROUP, VERSION, BACKENDS_NS, "httproutes", {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "HTTPRoute",
            "metadata": {"name": name, "labels": {"harness.dev/test": "sim-gateway"}},
            "spec": {"parentRefs": [{"name": "sim-gateway"}], "hostnames": [host], "rules": rules},
        })
        made.append(name)

        def accepted() -> bool:
            obj = api.get_namespaced_custom_object(GROUP, VERSION, BACKENDS_NS, "httproutes", name)
            return any(_true(p.get("conditions", []), "Accepted") and _true(p.get("conditions", []), "ResolvedRefs")
                       for p in obj.get("status", {}).get("parents", []))

        wait_for(f"HTTPRoute {name} Accepted with resolved refs", accepted, 60)
        wait_for(f"traefik to route {host}", lambda: gateway_request(host)[0] == 200, 30, interval=0.5)
        return host

    yield create
    for name in made:
        api.delete_namespaced_custom_object(GROUP, VERSION, BACKENDS_NS, "httproutes", name)


def backend(name: str, weight: int | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": name, "port": 80}
    if weight is not None:
        ref["weight"] = weight
    return ref


def test_weighted_split_sends_about_ninety_percent_to_the_first_backend(route: Any) -> None:
    host = route([{"backendRefs": [backend("backend-a", 90), backend("backend-b", 10)]}])
    seen: Counter[str] = Counter()
    for _ in range(200):
        code, headers, body = gateway_request(host)
        assert code == 200
        assert body["system_fingerprint"] == headers["x-backend"]  # the body agrees with the header
        seen[headers["x-backend"]] += 1
    share = seen["backend-a"] / 200
    print(f"weighted split 90/10 over 200 requests: {dict(seen)} -> backend-a {share:.1%}")
    assert set(seen) == {"backend-a", "backend-b"}
    assert 0.80 <= share <= 0.97


def test_header_match_routes_by_model(route: Any) -> None:
    host = route([
        {"matches": [{"headers": [{"name": "x-model", "value": "sim-llm-b"}]}], "backendRefs": [backend("backend-b")]},
        {"backendRefs": [backend("backend-a")]},
    ])
    for _ in range(10):
        code, headers, body = gateway_request(host, headers={"x-model": "sim-llm-b"},
                                              body={"model": "sim-llm-b", "messages": []})
        assert (code, headers["x-backend"], headers["x-model"]) == (200, "backend-b", "sim-llm-b")
        code, headers, _ = gateway_request(host)
        assert (code, headers["x-backend"]) == (200, "backend-a")
    assert body["model"] == "sim-llm-b"


def test_default_route_picks_the_backend_by_model_header() -> None:
    """The lab's own route `sim-models` on models.sim.test; other hostnames have no route."""
    code, headers, _ = gateway_request("models.sim.test", headers={"x-model": "sim-llm-b"})
    assert (code, headers.get("x-backend")) == (200, "backend-b")
    code, headers, _ = gateway_request("models.sim.test")
    assert (code, headers.get("x-backend")) == (200, "backend-a")
    assert gateway_request("no-route.sim.test")[0] == 404
