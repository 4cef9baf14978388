"""The judgement of verify_secure_accelerator_access (plugins/filter/secure_access.py), on the test pods,
ResourceClaims and ResourceSlices a run of the role recorded on the simulated lab (data/secure_access/,
its evidence files, 2026-12-02), healthy and then broken the ways the checks look for."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from unit_fixtures import load_filter_plugin

DATA = Path(__file__).parent / "data"
GPU = "nvidia.com/gpu"


@pytest.fixture(scope="module")
def sa() -> ModuleType:
    return load_filter_plugin("secure_access")


class Recorded:
    def __init__(self) -> None:
        self.pods: list[dict[str, Any]] = yaml.safe_load((DATA / "secure_access/pods.yaml").read_text())
        self.claims: list[dict[str, Any]] = yaml.safe_load((DATA / "secure_access/resourceclaims.yaml").read_text())
        self.slices: list[dict[str, Any]] = yaml.safe_load((DATA / "secure_access/resourceslices.yaml").read_text())
        self.nodes: list[dict[str, Any]] = json.loads((DATA / "probes/lab-nodes.json").read_text())

    def pod(self, name: str) -> dict[str, Any]:
        return next(p for p in self.pods if p["metadata"]["name"] == name)

    def claim_of(self, pod: str) -> dict[str, Any]:
        return next(c for c in self.claims if c["metadata"]["name"].startswith(f"{pod}-"))

    def dra(self, sa: ModuleType) -> dict[str, dict[str, Any]]:
        pods = {p["metadata"]["name"]: p for p in self.pods}
        running = sorted(p["metadata"]["name"] for p in self.pods if p["status"].get("phase") == "Running")
        d = sa.dra_allocations(pods, self.claims, self.slices, "uuid")
        return {c["name"]: c for c in sa.dra_isolation_checks(d, pods, running, "uuid", 120)}

    def device_plugin(self, sa: ModuleType) -> dict[str, Any]:
        pods = {p["metadata"]["name"]: p for p in self.pods}
        return sa.device_plugin_isolation(pods, sa.unit_usage(self.nodes, self.pods, GPU), GPU)


@pytest.fixture
def lab() -> Recorded:
    return Recorded()


def test_dra_allocations_of_the_healthy_run(sa: ModuleType, lab: Recorded) -> None:
    pods = {p["metadata"]["name"]: p for p in lab.pods}
    d = sa.dra_allocations(pods, lab.claims, lab.slices, "uuid")
    a = d["dra-pos-a"]
    assert a["phase"] == "Running" and a["devices"] == ["gpu.nvidia.com/sim-gpu-0/gpu-0"]
    assert len(a["identities"]) == 1 and a["identities"][0].startswith("GPU-")
    assert a["reserved_for"] == [[lab.pod("dra-pos-a")["metadata"]["uid"]]]
    assert d["dra-neg"]["claims"] == [] and d["dra-neg"]["claims_reserved_for_it"] == 0


def test_healthy_run_passes_every_check(sa: ModuleType, lab: Recorded) -> None:
    assert {n: c["status"] for n, c in lab.dra(sa).items()} == dict.fromkeys(lab.dra(sa), "pass")
    dp = lab.device_plugin(sa)
    assert [c["status"] for c in dp["checks"]] == ["pass", "pass", "pass"]
    assert dp["output"]["dp-neg"]["units"] == []


def test_two_claims_on_one_device_fail(sa: ModuleType, lab: Recorded) -> None:
    a = lab.claim_of("dra-pos-a")["status"]["allocation"]["devices"]["results"][0]
    lab.claim_of("dra-pos-b")["status"]["allocation"]["devices"]["results"][0]["device"] = a["device"]
    check = lab.dra(sa)["DRA: two pods' claims get different physical devices"]
    assert check["status"] == "fail" and "share a device" in check["message"]


def test_one_gpu_published_twice_fails_by_identity(sa: ModuleType, lab: Recorded) -> None:
    devices = lab.slices[0]["spec"]["devices"]
    devices[1]["attributes"]["uuid"] = devices[0]["attributes"]["uuid"]  # gpu-0 and gpu-1 are one GPU
    assert lab.dra(sa)["DRA: two pods' claims get different physical devices"]["status"] == "fail"


def test_a_claim_reserved_for_another_pod_fails(sa: ModuleType, lab: Recorded) -> None:
    neg = lab.pod("dra-neg")["metadata"]
    lab.claim_of("dra-pos-a")["status"]["reservedFor"].append({"resource": "pods", "name": "dra-neg", "uid": neg["uid"]})
    checks = lab.dra(sa)
    assert checks["DRA: each claim is reserved only for the pod that claims it"]["status"] == "fail"
    assert checks["DRA: a pod without a claim gets no device"]["status"] == "fail"


def test_both_containers_referencing_the_claim_fail(sa: ModuleType, lab: Recorded) -> None:
    for c in lab.pod("dra-multi")["spec"]["containers"]:
        c.setdefault("resources", {})["claims"] = [{"name": "gpu"}]
    check = lab.dra(sa)["DRA: in a two-container pod only the container that references the claim gets it"]
    assert check["status"] == "fail" and check["observed"] == {"authorized": ["gpu"], "unauthorized": ["gpu"]}


def test_pods_that_do_not_run_are_named(sa: ModuleType, lab: Recorded) -> None:
    lab.pod("dra-pos-b")["status"]["phase"] = "Pending"
    check = lab.dra(sa)["DRA: the claimed pods and the unclaimed pod run"]
    assert check["status"] == "fail" and check["message"] == "not Running after 120s: dra-pos-b"


def test_units_given_to_a_pod_without_request_fail(sa: ModuleType, lab: Recorded) -> None:
    lab.pod("dp-neg")["spec"]["containers"][0].setdefault("resources", {})["requests"] = {GPU: "9"}
    dp = lab.device_plugin(sa)
    assert [c["status"] for c in dp["checks"]] == ["pass", "fail", "fail"]
    node = lab.pod("dp-neg")["spec"]["nodeName"]
    assert dp["checks"][2]["observed"] == [f"{node}: 10 requested > 8 allocatable"]


def test_admission_findings(sa: ModuleType, lab: Recorded) -> None:
    pods = {p["metadata"]["name"]: p for p in lab.pods}
    assert sa.admission_findings(pods, GPU, "/dev/nvidia") == []
    neg = pods["dra-neg"]["spec"]
    neg["containers"][0]["securityContext"] = {"privileged": True}
    neg.setdefault("volumes", []).append({"name": "dev", "hostPath": {"path": "/dev"}})
    pods["dra-pos-a"]["spec"]["containers"][0].setdefault("resources", {}).setdefault("limits", {})[GPU] = "1"
    name = neg["containers"][0]["name"]
    assert sa.admission_findings(pods, GPU, "/dev/nvidia") == [
        f"dra-neg/{name}: privileged", "dra-neg: hostPath /dev", f"dra-pos-a/{pods['dra-pos-a']['spec']['containers'][0]['name']}: {GPU} limit on a DRA pod"]
