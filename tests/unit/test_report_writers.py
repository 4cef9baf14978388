"""Golden-file tests of every writer, on the fixed sample run (UPDATE_GOLDEN=1 regenerates)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import yaml
from unit_fixtures import EVIDENCE, check_golden

from harness import catalog
from harness.report import (
    load_product_yaml,
    render_e2e_log,
    render_junit,
    render_product_md,
    render_product_yaml,
    render_results_json,
    requirement_test_name,
)
from harness.report.bundle import evidence_links
from harness.results import Status
from harness.run import Run


def _v137_ids(run: Run) -> list[str]:
    return [i for i in catalog.load("v1.37").ids() if i in run.requirements]


def _links(run: Run, version: str) -> dict[str, list[str]]:
    return evidence_links(run, version, lambda rel: rel in EVIDENCE)


@pytest.mark.parametrize("version", ["v1.35", "v1.37"])
def test_product_yaml_golden(sample_run: Run, version: str) -> None:
    check_golden(
        f"{version}-PRODUCT.yaml", render_product_yaml(sample_run, version, _links(sample_run, version))
    )


@pytest.mark.parametrize("version", ["v1.35", "v1.37"])
def test_product_md_golden(sample_run: Run, version: str) -> None:
    text = render_product_yaml(sample_run, version, _links(sample_run, version))
    check_golden(f"{version}-PRODUCT.md", render_product_md(load_product_yaml(text)))


def test_junit_golden(sample_run: Run) -> None:
    check_golden("v1.37-junit.xml", render_junit(sample_run, _v137_ids(sample_run)))


def test_e2e_log_golden(sample_run: Run) -> None:
    check_golden("v1.37-e2e.log", render_e2e_log(sample_run, _v137_ids(sample_run)))


def test_results_json_golden(sample_run: Run) -> None:
    check_golden("v1.37-results.json", render_results_json(sample_run, _v137_ids(sample_run)))


def test_product_yaml_round_trips_and_keeps_upstream_fields(sample_run: Run) -> None:
    for version in catalog.versions():
        doc = yaml.safe_load(render_product_yaml(sample_run, version, {}))
        upstream = catalog.raw_checklist(version)
        assert list(doc["spec"]) == list(upstream["spec"])
        for cat, items in upstream["spec"].items():
            ours = doc["spec"][cat]
            assert [(r["id"], r["description"], r["level"]) for r in ours] == [
                (r["id"], r["description"], r["level"]) for r in items
            ]
            for r in ours:
                assert r["status"] in {s.value for s in Status}
                assert "Simulated GPUs" in r["notes"]
        assert doc["metadata"]["kubernetesVersion"] == ("v1.37.2" if version == "v1.37" else version)
        assert "Simulated GPUs" in doc["metadata"]["description"]
        assert doc["metadata"]["platformVersion"] == "1.10"  # quoted, so not the float 1.1


def test_product_yaml_keeps_upstream_header_and_key_order(sample_run: Run) -> None:
    text = render_product_yaml(sample_run, "v1.37", {})
    assert text.startswith("# Kubernetes AI Conformance Checklist - v1.37\n")
    assert '#     - "file://results/junit.xml#TestSecureAcceleratorAccess"\n' in text
    keys = list(yaml.safe_load(text)["metadata"])
    assert keys == [
        "kubernetesVersion", "platformName", "platformVersion", "vendorName", "websiteUrl", "repoUrl",
        "documentationUrl", "productLogoUrl", "description", "contactEmailAddress", "k8sConformanceUrl",
    ]  # fmt: skip


def test_product_yaml_quotes_awkward_text(sample_run: Run) -> None:
    nasty = 'line1\nline2\t"quoted" \\ back: # not a comment \u2028 \x07 ünïcödé'
    sample_run.lab.product["description"] = nasty
    sample_run.lab.simulated = False
    sample_run.requirements["ai_inference"].notes = nasty
    doc = yaml.safe_load(render_product_yaml(sample_run, "v1.37", {"ai_inference": ["x: y", "- z"]}))
    assert doc["metadata"]["description"] == nasty
    ai = doc["spec"]["networking"][0]
    assert ai["notes"] == nasty and ai["evidence"] == ["x: y", "- z"]


def test_product_yaml_uncovered_and_missing_metadata(sample_run: Run) -> None:
    sample_run.lab.product = {"vendor_name": "Snake Corp"}  # snake_case accepted, the rest placeholders
    sample_run.lab.simulated = False
    sample_run.selection = {"only": ["ai_inference"], "skip": []}
    doc = yaml.safe_load(render_product_yaml(sample_run, "v1.37", {}))
    assert doc["metadata"]["vendorName"] == "Snake Corp"
    assert doc["metadata"]["platformName"] == "[Platform Name]"
    adv = doc["spec"]["networking"][1]
    assert adv["id"] == "advanced_inference_ingress" and adv["status"] == "Not Implemented"
    assert "--only" in adv["notes"] and "Simulated" not in adv["notes"]


def test_kubernetes_version_of_other_minor_is_the_checklist(sample_run: Run) -> None:
    doc = yaml.safe_load(render_product_yaml(sample_run, "v1.35", {}))
    assert doc["metadata"]["kubernetesVersion"] == "v1.35"
    sample_run.lab.kubernetes_version = ""
    assert (
        yaml.safe_load(render_product_yaml(sample_run, "v1.37", {}))["metadata"]["kubernetesVersion"]
        == "v1.37"
    )


def test_evidence_links_only_clean_implemented_get_artifacts(sample_run: Run) -> None:
    links = _links(sample_run, "v1.37")
    assert links["secure_accelerator_access"][:2] == [
        "file://results/secure_accelerator_access/junit.xml#TestSecureAcceleratorAccess",
        "file://results/secure_accelerator_access/e2e.log",
    ]
    # Implemented but an optional check was skipped: evidence only, never a skipped test
    assert links["gang_scheduling"] == [
        "evidence/gang_scheduling/jobs.txt",
        "https://kueue.sigs.k8s.io/docs/",
    ]
    # failed: its own evidence, and a file that is not there is left out
    assert links["pod_autoscaling"] == ["evidence/pod_autoscaling/hpa.txt"]
    assert links["robust_controller"] == [] and links["cluster_autoscaling"] == []
    old = _links(sample_run, "v1.35")
    assert old["dra_support"][:2] == ["results/dra_support/junit.xml", "results/dra_support/e2e.log"]
    assert "dra_support" not in links


def test_requirement_test_names() -> None:
    assert requirement_test_name("secure_accelerator_access") == "TestSecureAcceleratorAccess"
    assert requirement_test_name("gang_scheduling") == "TestGangScheduling"
    assert requirement_test_name("cluster_autoscaling") == "TestAcceleratorClusterAutoscaling"
    assert requirement_test_name("ai_inference") == "TestAiInference"
    assert requirement_test_name("dra_support") == "TestDraSupport"


def test_junit_counts_and_failure_detail(sample_run: Run) -> None:
    root = ET.fromstring(render_junit(sample_run, ["pod_autoscaling", "accelerator_metrics"]))
    assert root.tag == "testsuites"
    assert [s.get("name") for s in root] == ["pod_autoscaling", "accelerator_metrics"]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "2", "2")
    case = root.find(".//testcase[@name='TestPodAutoscaling/scale_up']")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None and failure.text is not None
    assert "expected: >= 2 replicas" in failure.text and "observed: 1 replica" in failure.text
    err = root.find(".//testcase[@name='TestAcceleratorMetrics/scrape_exporter']/error")
    assert err is not None and "connection refused" in (err.get("message") or "")


def test_unknown_ids_are_left_out(sample_run: Run) -> None:
    root = ET.fromstring(render_junit(sample_run, ["ai_inference", "virtualized_accelerator"]))
    assert [s.get("name") for s in root] == ["ai_inference"]


def test_duplicate_and_spaced_check_names_are_go_names(sample_run: Run) -> None:
    r = sample_run.requirements["ai_inference"]
    r.checks = [r.checks[0], r.checks[0]]
    log = render_e2e_log(sample_run, ["ai_inference"])
    assert "--- PASS: TestAiInference/weighted_split (0.75s)" in log
    assert "--- PASS: TestAiInference/weighted_split#01 (0.75s)" in log


def test_results_json_lines_are_go_test_events(sample_run: Run) -> None:
    events = [json.loads(line) for line in render_results_json(sample_run, ["ai_inference"]).splitlines()]
    assert events[0]["Action"] == "start"
    assert {"Time", "Action", "Package"} <= set(events[1])
    assert events[-1] == {**events[-1], "Action": "pass", "Package": "harness/conformance"}
    assert "Test" not in events[-1]
    assert [e["Test"] for e in events if e["Action"] == "pass" and "Test" in e] == [
        "TestAiInference/weighted_split",
        "TestAiInference",
    ]
