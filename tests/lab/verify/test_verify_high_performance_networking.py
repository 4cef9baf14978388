"""Lab: verify_high_performance_networking.

The simulated lab publishes no NICs, so the role fails there. With a fake NIC published by the
test (a `dra.net` ResourceSlice on a kwok node, DRANET-style attributes), the simulatable checks
pass and the outcome is exactly `incomplete`: the interface inside the pod and data over it
need a real node.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from kubernetes import client

from harness.results import Check, RequirementResult
from accel_lab import assert_same_as_golden

pytestmark = pytest.mark.lab

REQ = "high_performance_networking"
GROUP, VERSION = "resource.k8s.io", "v1"
SIMULATABLE = ("NIC devices are published", "NIC characteristics are published",
               "A pod requesting a NIC claim is allocated a NIC", "The pod lands on a node that publishes the NIC")


def by_name(result: RequirementResult) -> dict[str, Check]:
    return {c.name: c for c in result.checks}


def leftovers(k8s: Any) -> list[str]:
    """Namespaces and DeviceClasses the role left behind."""
    sel = f"harness.dev/requirement={REQ}"
    ns = client.CoreV1Api(k8s).list_namespace(label_selector=sel).items
    dc = cast(dict[str, Any], client.CustomObjectsApi(k8s).list_cluster_custom_object(
        GROUP, VERSION, "deviceclasses", label_selector=sel))
    return [str(n.metadata.name) for n in ns if n.metadata] + [d["metadata"]["name"] for d in dc["items"]]


@pytest.fixture()
def fake_nic(k8s: Any) -> Iterator[Callable[[bool], str]]:
    """Publish a fake DRANET NIC on sim-gpu-0 (and, if asked, a DeviceClass for it); removed after."""
    api = client.CustomObjectsApi(k8s)
    made: list[tuple[str, str]] = []
    suffix = uuid.uuid4().hex[:6]

    def publish(with_class: bool) -> str:
        if with_class:
            name = f"harness-test-dranet-{suffix}"
            api.create_cluster_custom_object(GROUP, VERSION, "deviceclasses", {
                "apiVersion": f"{GROUP}/{VERSION}", "kind": "DeviceClass", "metadata": {"name": name},
                "spec": {"selectors": [{"cel": {"expression": 'device.driver == "dra.net"'}}]}})
            made.append(("deviceclasses", name))
        name = f"harness-test-nic-{suffix}"
        api.create_cluster_custom_object(GROUP, VERSION, "resourceslices", {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "ResourceSlice", "metadata": {"name": name},
            "spec": {"driver": "dra.net", "nodeName": "sim-gpu-0",
                     "pool": {"name": f"sim-gpu-0-{suffix}", "generation": 1, "resourceSliceCount": 1},
                     "devices": [{"name": "eth1",
                                  "attributes": {"dra.net/ifName": {"string": "eth1"},
                                                 "dra.net/rdma": {"bool": True},
                                                 "dra.net/pciAddress": {"string": "0000:3b:00.0"},
                                                 "dra.net/numaNode": {"int": 0}},
                                  "capacity": {"dra.net/bandwidth": {"value": "400G"}}}]}})
        made.append(("resourceslices", name))
        return name

    yield publish
    for plural, name in reversed(made):
        try:
            api.delete_cluster_custom_object(GROUP, VERSION, plural, name)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        names = {i["metadata"]["name"] for p in ("deviceclasses", "resourceslices")
                 for i in cast(dict[str, Any], api.list_cluster_custom_object(GROUP, VERSION, p))["items"]}
        if not names & {n for _, n in made}:
            break
        time.sleep(0.5)


def test_lab_without_nics_fails(run_verify: Any, k8s: Any) -> None:
    result, run_dir = run_verify(REQ)
    checks = by_name(result)
    assert result.outcome == "failed"
    assert checks["NIC devices are published"].status == "fail"
    assert "gpu.nvidia.com" in checks["NIC devices are published"].observed  # it did look at the slices
    assert checks["A pod requesting a NIC claim is allocated a NIC"].status == "skip"
    assert (run_dir / "evidence" / REQ / "nic-devices.yaml").is_file()
    assert leftovers(k8s) == []


def test_fake_nic_passes_the_simulatable_checks(run_verify: Any, fake_nic: Any, k8s: Any) -> None:
    fake_nic(True)
    result, run_dir = run_verify(REQ)
    assert_same_as_golden(result, run_dir, REQ)
    checks = by_name(result)
    assert result.outcome == "incomplete", [(c.name, c.status, c.observed) for c in result.checks]
    for name in SIMULATABLE:
        assert checks[name].status == "pass", checks[name]
    assert checks["A DeviceClass selects the NIC driver"].observed.startswith("harness-test-dranet-")
    assert "sim-gpu-0" in checks["The pod lands on a node that publishes the NIC"].observed
    hardware = [c for c in result.checks if c.needs_hardware]
    assert {c.status for c in hardware} == {"skip"} and len(hardware) == 2
    for rel in result.evidence:
        assert (run_dir / rel).is_file(), rel
    assert leftovers(k8s) == []


def test_fake_nic_without_device_class_uses_a_temporary_one(run_verify: Any, fake_nic: Any, k8s: Any) -> None:
    fake_nic(False)
    result, _ = run_verify(REQ)
    checks = by_name(result)
    assert checks["A DeviceClass selects the NIC driver"].status == "skip"  # optional: reported, not required
    assert checks["A pod requesting a NIC claim is allocated a NIC"].status == "pass"
    assert result.outcome == "incomplete"
    assert leftovers(k8s) == []  # the temporary DeviceClass is gone too
