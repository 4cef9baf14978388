"""Helpers shared by the unit tests (import by module name; conftest.py holds only fixtures, since
another test directory's conftest may be the one imported as ``conftest``): a small, fixed run
covering every kind of outcome, golden-file comparison, and the collection's plugins loaded from
their files."""

from __future__ import annotations

import difflib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from harness.results import Check, CheckStatus, Declaration, RoleReport, Status, decide
from harness.run import LabInfo, Run

PRODUCT = {
    "vendorName": "Example Corp",
    "platformName": "Example AI Platform",
    "platformVersion": "1.10",
    "websiteUrl": "https://example.com/platform",
    "repoUrl": "https://github.com/example/platform",
    "documentationUrl": "https://docs.example.com/platform/ai-conformance/getting-started-with-accelerators",
    "productLogoUrl": "https://example.com/logo.svg",
    "description": 'A "test" platform: lab #1',
    "contactEmailAddress": "conformance@example.com",
    "k8sConformanceUrl": "https://github.com/cncf/k8s-conformance/tree/master/v1.37/example",
}

#: evidence files the fixture's roles "saved" (relative to the run directory)
EVIDENCE = {
    "evidence/secure_accelerator_access/pods.yaml": "apiVersion: v1\nkind: Pod\n",
    "evidence/gang_scheduling/jobs.txt": "job gang-ok: 4/4 running\n",
    "evidence/pod_autoscaling/hpa.txt": "replicas: 1\n",
    "evidence/ai_inference/httproute.yaml": "kind: HTTPRoute\n",
    "evidence/dra_support/resourceslices.txt": "gpu-0 gpu-1\n",
}


def make_sample_run() -> Run:
    def rep(req: str, checks: list[Check], evidence: list[str] | None = None, **kw: object) -> RoleReport:
        r = RoleReport(req, checks, evidence or [], role=f"verify_{req}", started="", finished="")
        for k, v in kw.items():
            setattr(r, k, v)
        return r

    P, F, E, S = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.ERROR, CheckStatus.SKIP
    reqs = {
        # passed, every check passed → artifacts linked
        "secure_accelerator_access": decide(
            "secure_accelerator_access",
            rep(
                "secure_accelerator_access",
                [
                    Check("positive access", P, "1 GPU visible", "1 GPU visible", duration_s=2.5),
                    Check("negative isolation", P, "0 GPUs visible", "0 GPUs visible", duration_s=1.25),
                ],
                ["evidence/secure_accelerator_access/pods.yaml"],
                duration_s=4.0,
            ),
            None,
        ),
        # passed, with an optional check skipped → evidence only, no artifact link
        "gang_scheduling": decide(
            "gang_scheduling",
            rep(
                "gang_scheduling",
                [
                    Check(
                        "PositiveGangScheduling", P, "4/4 pods running", "4/4 pods running", duration_s=3.0
                    ),
                    Check(
                        "NegativeGangScheduling", P, "0/5 pods running", "0/5 pods running", duration_s=30.0
                    ),
                    Check("volcano backend", S, message="volcano not installed", required=False),
                ],
                ["evidence/gang_scheduling/jobs.txt", "https://kueue.sigs.k8s.io/docs/"],
                duration_s=33.5,
            ),
            None,
        ),
        "cluster_autoscaling": decide(
            "cluster_autoscaling",
            None,
            Declaration(Status.NA, "The lab has a fixed node pool and no cluster autoscaler."),
        ),
        # failed: observed differs from expected
        "pod_autoscaling": decide(
            "pod_autoscaling",
            rep(
                "pod_autoscaling",
                [
                    Check("custom metric served", P, "metric present", "metric present", duration_s=5.0),
                    Check(
                        "scale up",
                        F,
                        ">= 2 replicas",
                        "1 replica\n--- PASS: not a real result",
                        "HPA did not scale",
                        duration_s=60.0,
                    ),
                ],
                ["evidence/pod_autoscaling/hpa.txt", "evidence/pod_autoscaling/missing.txt"],
            ),
            None,
        ),
        # error: could not tell
        "accelerator_metrics": decide(
            "accelerator_metrics",
            rep(
                "accelerator_metrics",
                [Check("scrape exporter", E, "HTTP 200", "connection refused", "exporter unreachable")],
            ),
            None,
        ),
        "ai_inference": decide(
            "ai_inference",
            rep(
                "ai_inference",
                [Check("weighted split", P, "80/20 +- 5", "79/21", duration_s=0.75)],
                ["evidence/ai_inference/httproute.yaml"],
            ),
            None,
        ),
        # incomplete: needs real hardware
        "driver_runtime_management": decide(
            "driver_runtime_management",
            rep(
                "driver_runtime_management",
                [
                    Check(
                        "driver version matches",
                        S,
                        "550.x",
                        "",
                        "needs a real GPU driver",
                        needs_hardware=True,
                    )
                ],
                needs_hardware=True,
            ),
            None,
        ),
        "gpu_sharing": decide(
            "gpu_sharing",
            rep("gpu_sharing", [Check("time-slicing replicas", P, "4", "4")]),
            Declaration(Status.PARTIAL, "Time-slicing only; no MIG on this lab."),
        ),
        # missing: the role never reported
        "robust_controller": decide("robust_controller", None, None),
        "workload_sandboxing": decide(
            "workload_sandboxing", None, Declaration(Status.NA, "No sandbox runtime is offered.")
        ),
        # v1.35 only
        "dra_support": decide(
            "dra_support",
            rep(
                "dra_support",
                [Check("resource slices published", P, "2 devices", "2 devices", duration_s=1.0)],
                ["evidence/dra_support/resourceslices.txt"],
            ),
            None,
        ),
    }
    for r in reqs.values():
        r.simulated = True
    return Run(
        run_id="20261123T150000Z-abc123",
        checklists=["v1.35", "v1.37"],
        lab=LabInfo(
            name="local-sim",
            inventory="inventories/local-sim",
            kind="local-sim",
            simulated=True,
            kubernetes_version="v1.37.2",
            components={"kubernetes": "v1.37.2"},
            product=dict(PRODUCT),
        ),
        requirements=reqs,
        started="2026-11-23T15:00:00+00:00",
        finished="2026-11-23T15:10:00+00:00",
        duration_s=600.0,
        selection={"only": [], "skip": ["disaggregated_inference"]},
        harness_version="0.1.0",
    )


GOLDEN_DIR = Path(__file__).parent / "golden"


def check_golden(name: str, text: str) -> None:
    """Compare text with tests/unit/golden/<name> byte for byte; UPDATE_GOLDEN=1 rewrites the file."""
    path = GOLDEN_DIR / name
    data = text.encode("utf-8")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    assert path.is_file(), f"golden file {path} is missing; run with UPDATE_GOLDEN=1 to create it"
    expected = path.read_bytes()
    if data != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.decode("utf-8").splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"golden/{name}",
                "rendered",
            )
        )
        pytest.fail(f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept):\n{diff}")


COLLECTION = Path(__file__).resolve().parents[2] / "collections/ansible_collections/harness/conformance"


def load_plugin(kind: str, name: str) -> ModuleType:
    """The collection's plugin ``plugins/<kind>/<name>.py`` (kind: filter, modules), imported from its file.

    Its imports of ``ansible_collections.harness.conformance.plugins.module_utils`` resolve to this
    checkout (``collections/`` joins the ``ansible_collections`` namespace package on sys.path)."""
    if str(COLLECTION.parents[2]) not in sys.path:
        sys.path.append(str(COLLECTION.parents[2]))
    spec = importlib.util.spec_from_file_location(f"harness_{name}_{kind}", COLLECTION / "plugins" / kind / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_filter_plugin(name: str) -> ModuleType:
    """The collection's filter plugin ``plugins/filter/<name>.py``, imported from its file."""
    return load_plugin("filter", name)
