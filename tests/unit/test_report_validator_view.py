"""Our junit.xml / e2e.log / results.json read exactly as the CNCF v1.37 validator reads them.

The parsing and outcome rules below follow verification-procedures.md §2 (validate.go after
PR #141): canonical file names only, exact name match first, else `Name/...` subtests
aggregated (any fail → fail, all skip → skip, else pass), a fail never downgraded, any failing
test in a linked artifact is an error, a skipped test under Implemented is an error.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from unit_fixtures import EVIDENCE

from harness import catalog
from harness.report import render_e2e_log, render_junit, render_results_json, write_bundle
from harness.run import Run

Outcomes = dict[str, str]  # test name -> pass | fail | skip

_E2E_LINE = re.compile(r"^\s*--- (PASS|FAIL|SKIP): (\S+)")


def _merge(out: Outcomes, name: str, outcome: str) -> None:
    if out.get(name) != "fail":  # a fail is never downgraded
        out[name] = outcome


def parse_junit(text: str) -> Outcomes:
    root = ET.fromstring(text)
    assert root.tag in ("testsuites", "testsuite")
    out: Outcomes = {}
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = "fail"
        elif case.find("skipped") is not None:
            outcome = "skip"
        else:
            outcome = "pass"
        _merge(out, case.get("name", ""), outcome)
    if not out:
        raise ValueError("junit.xml: zero testcases")
    return out


def parse_results_json(text: str) -> tuple[Outcomes, list[str]]:
    out: Outcomes = {}
    package_failures: list[str] = []
    events = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        ev = json.loads(line)
        events += 1
        action = ev.get("Action")
        if action not in ("pass", "fail", "skip"):
            continue
        if not ev.get("Test"):
            if action == "fail":
                package_failures.append(ev.get("Package", ""))
            continue
        _merge(out, ev["Test"], action)
    if events == 0:
        raise ValueError("results.json: zero events")
    return out, package_failures


def parse_e2e_log(text: str) -> Outcomes:
    out: Outcomes = {}
    for line in text.splitlines():
        m = _E2E_LINE.match(line)
        if m:
            _merge(out, m.group(2), m.group(1).lower())
    if not out:
        raise ValueError("e2e.log: zero result lines")
    return out


def parse_artifact(path: Path) -> Outcomes | None:
    name = path.name.lower()
    text = path.read_text("utf-8")
    if name == "junit.xml":
        return parse_junit(text)
    if name == "results.json":
        outcomes, pkg = parse_results_json(text)
        if pkg and not any(v == "fail" for v in outcomes.values()):
            outcomes[f"package {pkg[0]}"] = "fail"
        return outcomes
    if name == "e2e.log":
        return parse_e2e_log(text)
    return None  # any other file: existence only


def outcome_of(outcomes: Outcomes, test: str) -> str | None:
    if test in outcomes:
        return outcomes[test]
    subs = [v for k, v in outcomes.items() if k.startswith(test + "/")]
    if not subs:
        return None
    if "fail" in subs:
        return "fail"
    return "skip" if all(v == "skip" for v in subs) else "pass"


def validator_errors(product_dir: Path) -> list[str]:
    """The evidence-artifact errors the validator raises for one PRODUCT.yaml."""
    doc = yaml.safe_load((product_dir / "PRODUCT.yaml").read_text("utf-8"))
    errors: list[str] = []
    for items in doc["spec"].values():
        for r in items:
            for link in r.get("evidence") or []:
                if link.startswith(("http://", "https://")):
                    continue
                ref = link.removeprefix("file://")
                rel, _, test = ref.partition("#")
                assert not rel.startswith(("/", "../")), link
                path = product_dir / rel
                if not path.is_file():
                    errors.append(f"{r['id']}: {link}: not found")
                    continue
                outcomes = parse_artifact(path)
                if outcomes is None:
                    continue
                if any(v == "fail" for v in outcomes.values()):
                    errors.append(f"{r['id']}: {link}: artifact has failing tests")
                if test:
                    got = outcome_of(outcomes, test)
                    if got is None:
                        errors.append(f"{r['id']}: {link}: test not found")
                    elif got == "fail":
                        errors.append(f"{r['id']}: {link}: test failed")
                    elif got == "skip" and r["status"] == "Implemented":
                        errors.append(f"{r['id']}: {link}: skipped but Implemented")
                elif r["status"] == "Implemented" and any(v == "skip" for v in outcomes.values()):
                    errors.append(f"{r['id']}: {link}: skipped test under Implemented")
    return errors


EXPECTED = {
    "TestSecureAcceleratorAccess": "pass",
    "TestGangScheduling": "pass",
    "TestAiInference": "pass",
    "TestAcceleratorClusterAutoscaling": "skip",  # declared N/A
    "TestWorkloadSandboxing": "skip",  # declared N/A
    "TestGpuSharing": "skip",  # declared partial
    "TestDriverRuntimeManagement": "skip",  # needs hardware
    "TestPodAutoscaling": "fail",
    "TestAcceleratorMetrics": "fail",  # error counts as fail
    "TestRobustController": "fail",  # no result
    "TestGangScheduling/volcano_backend": "skip",
    "TestPodAutoscaling/scale_up": "fail",
    "TestPodAutoscaling/custom_metric_served": "pass",
}


def _ids(run: Run) -> list[str]:
    return [i for i in catalog.load("v1.37").ids() if i in run.requirements]


def test_three_artifacts_agree_with_the_run(sample_run: Run) -> None:
    ids = _ids(sample_run)
    junit = parse_junit(render_junit(sample_run, ids))
    e2e = parse_e2e_log(render_e2e_log(sample_run, ids))
    results, pkg_fail = parse_results_json(render_results_json(sample_run, ids))
    assert junit == e2e == results
    assert pkg_fail == ["harness/conformance"]
    for name, outcome in EXPECTED.items():
        assert outcome_of(junit, name) == outcome, name
    # the fake result line inside an observed value did not become a test
    assert not any("not" in k for k in e2e)


def test_passing_requirement_artifacts_are_clean(sample_run: Run) -> None:
    for render in (render_junit, render_e2e_log):
        text = render(sample_run, ["secure_accelerator_access"])
        outcomes = parse_junit(text) if text.startswith("<?xml") else parse_e2e_log(text)
        assert set(outcomes.values()) == {"pass"}
    outcomes, pkg = parse_results_json(render_results_json(sample_run, ["secure_accelerator_access"]))
    assert set(outcomes.values()) == {"pass"} and pkg == []


def test_bundle_links_pass_the_validator(sample_run: Run, sample_run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_bundle(sample_run, sample_run_dir, out)
    assert validator_errors(out / "v1.37") == []
    assert validator_errors(out / "v1.35") == []
    doc = yaml.safe_load((out / "v1.37" / "PRODUCT.yaml").read_text("utf-8"))
    sec = next(r for r in doc["spec"]["security"] if r["id"] == "secure_accelerator_access")
    assert "file://results/secure_accelerator_access/junit.xml#TestSecureAcceleratorAccess" in sec["evidence"]


def test_the_model_catches_a_bad_link(sample_run: Run, sample_run_dir: Path, tmp_path: Path) -> None:
    """The validator model can fail: linking the all-requirements artifacts is an error."""
    out = tmp_path / "out"
    write_bundle(sample_run, sample_run_dir, out)
    vdir = out / "v1.37"
    text = (vdir / "PRODUCT.yaml").read_text("utf-8")
    text = text.replace(
        "file://results/ai_inference/junit.xml#TestAiInference", "file://results/junit.xml#TestAiInference"
    )
    text = text.replace("file://results/ai_inference/e2e.log", "file://results/gang_scheduling/e2e.log")
    (vdir / "PRODUCT.yaml").write_text(text, "utf-8")
    errors = validator_errors(vdir)
    assert any("results/junit.xml#TestAiInference: artifact has failing tests" in e for e in errors)
    assert any("gang_scheduling/e2e.log: skipped test under Implemented" in e for e in errors)


@pytest.mark.parametrize("text", ["", "\n"])
def test_empty_artifacts_are_parse_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_e2e_log(text)
    with pytest.raises(ValueError):
        parse_results_json(text)


def test_fixture_evidence_matches_conftest() -> None:
    assert all(k.startswith("evidence/") for k in EVIDENCE)
