"""Lab: verify_advanced_inference_ingress (Gateway API Inference Extension).

No GAIE implementation runs on the simulated lab: traefik (its Gateway controller) does not
implement InferencePool backends, and the GAIE-capable gateways (kgateway, Istio, Envoy Gateway,
NGINX Gateway Fabric) are too heavy to run here. So there is NO passing test for this role on
this lab; instead:

- EXPECTED OUTCOME ON THIS LAB (not a pass): the GAIE CRDs are absent, the role fails with
  "no Gateway API Inference Extension implementation".
- With the real GAIE CRDs installed (from the Go module proxy, removed after), the role gets as
  far as the gateway: traefik accepts the route but refuses the InferencePool backendRef
  (ResolvedRefs=False, InvalidKind), and the role fails on exactly that.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from harness.results import Check, RequirementResult
from accel_lab import assert_same_as_golden

pytestmark = pytest.mark.lab

REQ = "advanced_inference_ingress"
GAIE_MODULE = "sigs.k8s.io/gateway-api-inference-extension"
GAIE_VERSION = "v1.2.0"
GAIE_CRDS = ("inference.networking.k8s.io_inferencepools.yaml", "inference.networking.x-k8s.io_inferencepools.yaml")
POOL_CRD_CHECK = "CRD inferencepools.inference.networking.k8s.io is Established"
ROUTE_CHECK = "HTTPRoute to the InferencePool is Accepted with ResolvedRefs"


def by_name(result: RequirementResult) -> dict[str, Check]:
    return {c.name: c for c in result.checks}


def leftover_namespaces(k8s: Any) -> list[str]:
    items = client.CoreV1Api(k8s).list_namespace(label_selector=f"harness.dev/requirement={REQ}").items
    return [str(ns.metadata.name) for ns in items if ns.metadata]


@pytest.fixture()
def gaie_crds(lab: Any, k8s: Any) -> Iterator[list[str]]:
    """Install the GAIE InferencePool CRDs from the Go module (cached like the lab's modules); remove after."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("no Go toolchain to fetch the GAIE module")
    cache = Path(os.path.expanduser(str(lab.vars.get("sim_lab_cache_dir", "~/.cache/harness"))))
    proc = subprocess.run([go, "mod", "download", "-json", f"{GAIE_MODULE}@{GAIE_VERSION}"], cwd="/",
                          capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "GOMODCACHE": str(cache / "gomod"), "GOFLAGS": "-mod=mod",
                               "GOTOOLCHAIN": "local"})
    if proc.returncode != 0:
        pytest.skip(f"GAIE module not available from the Go module proxy: {proc.stderr[-300:]}")
    bases = Path(json.loads(proc.stdout)["Dir"]) / "config" / "crd" / "bases"
    ext = client.ApiextensionsV1Api(k8s)
    names: list[str] = []
    try:
        for f in GAIE_CRDS:
            crd = yaml.safe_load((bases / f).read_text())
            ext.create_custom_resource_definition(crd)
            names.append(crd["metadata"]["name"])
        yield names
    finally:
        _delete_crds(ext, names)


def _delete_crds(ext: Any, names: list[str]) -> None:
    for n in names:
        try:
            ext.delete_custom_resource_definition(n)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(
            c.metadata and c.metadata.name in names for c in ext.list_custom_resource_definition().items):
        time.sleep(0.5)


def test_expected_outcome_on_this_lab_no_gaie_implementation(run_verify: Any, k8s: Any) -> None:
    """NOT a pass: the exact outcome expected on the simulated lab, which has no GAIE implementation."""
    result, run_dir = run_verify(REQ)
    assert_same_as_golden(result, run_dir, REQ)
    checks = by_name(result)
    assert result.outcome == "failed"
    assert checks[POOL_CRD_CHECK].status == "fail" and checks[POOL_CRD_CHECK].observed == "not installed"
    assert "No Gateway API Inference Extension implementation" in result.notes
    assert checks[ROUTE_CHECK].status == "skip"  # not reached
    assert (run_dir / "evidence" / REQ / "gaie-crds.yaml").is_file()
    assert leftover_namespaces(k8s) == []


def test_traefik_refuses_an_inference_pool_backend(run_verify: Any, gaie_crds: list[str], k8s: Any) -> None:
    result, run_dir = run_verify(REQ, verify_advanced_inference_ingress_wait_timeout=30)
    checks = by_name(result)
    assert result.outcome == "failed", [(c.name, c.status, c.observed) for c in result.checks]
    assert checks[POOL_CRD_CHECK].status == "pass"
    assert checks["GatewayClass is Accepted"].status == "pass"
    assert checks["Gateway is Programmed"].status == "pass"
    route = checks[ROUTE_CHECK]
    assert route.status == "fail" and "InvalidKind" in route.observed, route
    assert checks["InferencePool is Accepted by the Gateway"].status == "fail"
    assert (run_dir / "evidence" / REQ / "gateway-pool-route.yaml").is_file()
    assert leftover_namespaces(k8s) == []
