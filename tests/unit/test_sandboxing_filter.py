"""Which RuntimeClasses verify_workload_sandboxing treats as sandboxes, and its judged steps (plugins/filter/sandboxing.py)."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from unit_fixtures import load_filter_plugin

DEFAULT_HANDLERS = ["runsc", "gvisor", "kata", "kata-*", "kata_*"]  # the role's default


@pytest.fixture(scope="module")
def sb() -> ModuleType:
    return load_filter_plugin("sandboxing")


def rc(name: str, handler: str, **more: Any) -> dict[str, Any]:
    return {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name}, "handler": handler, **more}


# The lab's RuntimeClasses (gvisor -> runsc, and the plain runc one), and kata ones as the Kata operator names them.
CLASSES = [rc("runc", "runc"), rc("kata-qemu", "kata-qemu", scheduling={"nodeSelector": {"katacontainers.io/kata-runtime": "true"}}),
           rc("gvisor", "runsc", overhead={"podFixed": {"memory": "40Mi"}}), rc("kata-fc", "kata_fc"), rc("katalike", "kataX")]  # fmt: skip


def test_sandboxes_are_found_by_handler_sorted_by_name(sb: ModuleType) -> None:
    found = sb.sandbox_runtime_classes(CLASSES, [], DEFAULT_HANDLERS)
    assert [c["name"] for c in found] == ["gvisor", "kata-fc", "kata-qemu"]  # not runc, not kataX
    assert found[0] == {"name": "gvisor", "handler": "runsc", "scheduling": {}, "overhead": {"podFixed": {"memory": "40Mi"}}}


def test_named_classes_win_over_handlers(sb: ModuleType) -> None:
    assert [c["name"] for c in sb.sandbox_runtime_classes(CLASSES, ["runc"], DEFAULT_HANDLERS)] == ["runc"]
    assert sb.sandbox_runtime_classes(CLASSES, ["missing"], DEFAULT_HANDLERS) == []


def test_handler_patterns_are_not_regular_expressions(sb: ModuleType) -> None:
    assert sb.sandbox_runtime_classes(CLASSES, [], ["kata.*"]) == []  # '.' is literal, only '*' is a wildcard
    assert len(sb.sandbox_runtime_classes(CLASSES, [], ["*"])) == len(CLASSES)


def test_no_runtime_class_no_sandbox(sb: ModuleType) -> None:
    assert sb.sandbox_runtime_classes([], [], DEFAULT_HANDLERS) == []
    assert sb.sandbox_runtime_classes([rc("runc", "runc")], [], DEFAULT_HANDLERS) == []


# The judged steps, on what a healthy run of the role recorded on the simulated lab
# (data/sandboxing/: see its README) and the lab's nodes (data/probes/lab-nodes.json).

DATA = Path(__file__).parent / "data"
SETTINGS = {"runtime_classes": [], "handlers": DEFAULT_HANDLERS, "namespace": "harness-sandbox-test"}


def recorded(name: str) -> Any:
    return yaml.safe_load((DATA / "sandboxing" / name).read_text())


def reads(rcs: list[dict[str, Any]] | None = None, nodes: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The role's k8s_info loop results (RuntimeClasses, then the nodes that run containers)."""
    lab_nodes = json.loads((DATA / "probes/lab-nodes.json").read_text())
    return [{"item": {"id": "runtimeclasses"}, "resources": recorded("runtimeclasses.yaml") if rcs is None else rcs},
            {"item": {"id": "nodes"}, "resources": lab_nodes if nodes is None else nodes}]  # fmt: skip


def test_class_step_of_the_lab(sb: ModuleType) -> None:
    step = sb.sandbox_class_step(reads(), SETTINGS)
    assert step["title"] == "A sandbox RuntimeClass exists" and step["command"] == "kubectl get runtimeclasses"
    assert step["output"] == {"runtimeclasses": {"gvisor": "runsc"}, "sandbox": ["gvisor"]}
    assert step["checks"] == [{"name": "A sandbox RuntimeClass exists", "status": "pass",
                               "expected": "a RuntimeClass whose handler is one of runsc, gvisor, kata, kata-*, kata_*",
                               "observed": ["gvisor (handler runsc)"], "message": ""}]  # fmt: skip
    assert step["files"] == [{"name": "runtimeclasses.yaml", "data": recorded("runtimeclasses.yaml")}]
    assert step["facts"] == {"runtime_class": "gvisor", "real_nodes": ["harness-node"]}


def test_class_step_without_a_sandbox_fails(sb: ModuleType) -> None:
    named = sb.sandbox_class_step(reads(), {**SETTINGS, "runtime_classes": ["no-such-sandbox", "other"]})
    (check,) = named["checks"]
    assert check["status"] == "fail" and check["message"] == "no sandbox RuntimeClass"
    assert check["expected"] == "RuntimeClass no-such-sandbox or other" and check["observed"] == ["gvisor"]
    assert named["facts"]["runtime_class"] == "" and named["output"]["sandbox"] == []
    empty = sb.sandbox_class_step(reads(rcs=[]), SETTINGS)["checks"][0]
    assert empty["status"] == "fail" and empty["observed"] == "no RuntimeClass"


def test_probe_step_of_the_healthy_run(sb: ModuleType) -> None:
    probed = recorded("probes.yaml")
    # the nodes were recorded on another day: give the real node the kernel of the run that recorded the probes
    node = [n | {"status": {**n["status"], "nodeInfo": {**n["status"]["nodeInfo"], "kernelVersion": "6.18.44-fc-v1045"}}}
            for n in json.loads((DATA / "probes/lab-nodes.json").read_text())]  # fmt: skip
    # the baseline round reads both pods, in name order: the step puts the sandboxed pod first again
    step = sb.sandbox_probe_step({"baseline": probed["baseline"], "sandboxed": probed["sandboxed"]}, reads(nodes=node), "gvisor", SETTINGS)
    assert step["title"] == "A pod in the sandbox runs on its own kernel"
    assert step["command"] == "kubectl -n harness-sandbox-test logs sandboxed; kubectl -n harness-sandbox-test logs baseline"
    assert list(step["output"]) == ["sandboxed", "baseline"] and step["files"] == [{"name": "probes.yaml", "data": step["output"]}]
    assert {c["name"]: c["status"] for c in step["checks"]} == {
        "A pod with the sandbox runtimeClassName is admitted and runs": "pass",
        "The admitted sandboxed pod shares no host namespace": "pass",
        "The sandboxed pod runs on its own kernel, not the node's": "pass",
        "The sandboxed kernel differs from the node's kernelVersion": "pass"}
    assert step["checks"][3]["expected"] == "not 6.18.44-fc-v1045"


def test_probe_step_of_a_sandbox_that_is_really_runc_fails(sb: ModuleType) -> None:
    probed = recorded("probes.yaml")
    probed["sandboxed"]["containers"] = probed["baseline"]["containers"]  # the host's kernel in both pods
    checks = {c["name"]: c for c in sb.sandbox_probe_step(probed, reads(), "gvisor", SETTINGS)["checks"]}
    isolation = checks["The sandboxed pod runs on its own kernel, not the node's"]
    assert isolation["status"] == "fail" and "uname -r" in isolation["message"]


def test_probe_step_of_a_pod_placed_on_a_kwok_node_is_skipped(sb: ModuleType) -> None:
    probed = {"sandboxed": recorded("probes.yaml")["sandboxed"] | {"node": "sim-gpu-0", "containers": {}}}
    checks = sb.sandbox_probe_step(probed, reads(), "gvisor", SETTINGS)["checks"]
    assert checks[-1]["status"] == "skip" and checks[-1]["required"] and "sim-gpu-0" in checks[-1]["observed"]
    assert all(c["name"] != "The sandboxed kernel differs from the node's kernelVersion" for c in checks)
