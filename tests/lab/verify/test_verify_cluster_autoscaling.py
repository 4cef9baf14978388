"""Lab: verify_cluster_autoscaling (a conditional MUST) on the simulated lab.

The simulated lab runs no cluster autoscaler (cluster-autoscaler's kwok provider would need a
second Kubernetes build), so the role must fail with "no cluster autoscaler found"; the local-sim
inventory is where the requirement is declared N/A. A requirement declared N/A is not run at all,
so the broken case runs against a copy of the inventory without that declaration.

The healthy case (scale up to N+1 on a new node, back down to N) needs an autoscaler and is
skipped, with the reason, when none is present.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from harness.run import Run
from lab_breakers import assert_evidence, by_name, leftovers, summary
from lab_fixtures import INVENTORY, REPO

pytestmark = pytest.mark.lab

REQ = "cluster_autoscaling"
HARNESS = [sys.executable, "-m", "harness.cli"]


def autoscaler_present(k8s: Any, state_dir: Path) -> str:
    """What the role would find: an autoscaler Deployment, a status ConfigMap or a lab record."""
    deploys = client.AppsV1Api(k8s).list_deployment_for_all_namespaces().items
    for d in deploys:
        name = str(d.metadata.name) if d.metadata else ""
        if any(word in name for word in ("cluster-autoscaler", "karpenter")):
            return f"Deployment {d.metadata.namespace if d.metadata else ''}/{name}"
    cms = client.CoreV1Api(k8s).list_namespaced_config_map(
        "kube-system", field_selector="metadata.name=cluster-autoscaler-status").items
    if cms:
        return "ConfigMap kube-system/cluster-autoscaler-status"
    if (state_dir / "components" / "cluster-autoscaler.json").is_file():
        return "lab component cluster-autoscaler"
    return ""


def run_undeclared(tmp_path: Path, **extravars: Any) -> tuple[Any, Path]:
    """harness verify --only cluster_autoscaling with an inventory copy that declares nothing N/A."""
    inv = tmp_path / "inventory"
    shutil.copytree(INVENTORY, inv)
    group_vars = inv / "group_vars" / "all.yml"
    data = yaml.safe_load(group_vars.read_text()) or {}
    (data.get("harness_declared") or {}).pop(REQ, None)
    group_vars.write_text(yaml.safe_dump(data, sort_keys=False))
    runs = tmp_path / "runs"
    cmd = [*HARNESS, "verify", "-i", str(inv), "--only", REQ, "--run-dir", str(runs), "--quiet"]
    for k, v in extravars.items():
        cmd += ["-e", f"{k}={json.dumps(v)}"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert proc.returncode in (0, 1), f"harness verify crashed (rc={proc.returncode}):\n{proc.stderr[-3000:]}"
    (run_dir,) = [d for d in runs.iterdir() if d.is_dir()]
    run = Run.load(run_dir)
    assert REQ in run.requirements, proc.stderr[-2000:]
    return run.requirements[REQ], run_dir


def test_no_autoscaler_fails(lab: Any, k8s: Any, tmp_path: Path) -> None:
    found = autoscaler_present(k8s, lab.state_dir)
    if found:
        pytest.skip(f"this lab has a cluster autoscaler ({found}); the no-autoscaler case cannot be shown")
    result, run_dir = run_undeclared(tmp_path)
    checks = by_name(result)
    assert result.outcome == "failed", summary(result)
    assert checks["Cluster autoscaler present"].status == "fail"
    assert checks["Cluster autoscaler present"].message == "no cluster autoscaler found"
    assert "declares it N/A" in result.notes
    assert_evidence(result, run_dir, REQ)
    assert leftovers(k8s, REQ) == []


def test_pool_scales_up_and_back_down(lab: Any, k8s: Any, tmp_path: Path) -> None:
    found = autoscaler_present(k8s, lab.state_dir)
    if not found:
        pytest.skip("no cluster autoscaler in this lab (no cluster-autoscaler/Karpenter Deployment, no "
                    "cluster-autoscaler-status ConfigMap, no lab component record): scale-up to N+1 and "
                    "scale-down to N cannot be exercised")
    result, run_dir = run_undeclared(tmp_path)
    checks = by_name(result)
    assert result.outcome == "passed", summary(result)
    for name in ("Cluster autoscaler present", "Pool stable and filled (baseline)",
                 "Trigger pod Unschedulable on the full pool", "Scale-up - trigger pod runs on a new pool node",
                 "Scale-down - pool back to its baseline size"):
        assert checks[name].status == "pass", checks[name]
    assert_evidence(result, run_dir, REQ)
    assert leftovers(k8s, REQ) == []
