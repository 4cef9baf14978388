"""The PRODUCT.yaml validator: a valid file, then one file per broken rule."""

from __future__ import annotations

import copy
import http.server
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness import catalog, validate, validate_decode
from harness.validate import Finding, exit_code, validate_file

DATA = Path(__file__).parent / "data" / "validate"
PRODUCT_DIR = "v1.37/harness-lab"

TESTS = {
    "secure_accelerator_access": "TestSecureAcceleratorAccess",
    "gang_scheduling": "TestGangScheduling",
    "cluster_autoscaling": "TestAcceleratorClusterAutoscaling",
}


# --- building files -----------------------------------------------------------------------


def product(version: str = "v1.37") -> dict[str, Any]:
    """A complete, valid PRODUCT.yaml in our own style for a checklist version."""
    cl = catalog.load(version)
    spec: dict[str, list[dict[str, Any]]] = {}
    for cat, reqs in cl.by_category().items():
        for r in reqs:
            evidence = [f"evidence/{r.id}/output.md"]
            if r.id in TESTS and version == "v1.37":
                evidence.insert(0, f"file://results/junit.xml#{TESTS[r.id]}")
            spec.setdefault(cat, []).append(
                {
                    "id": r.id,
                    "description": r.description,
                    "level": r.level,
                    "status": "Implemented",
                    "evidence": evidence,
                    "notes": f"Proven by the harness role verify_{r.id}.",
                }
            )
    return {
        "metadata": {
            "kubernetesVersion": f"{version}.2",
            "platformName": "Harness Lab",
            "platformVersion": "0.1.0",
            "vendorName": "Example",
            "websiteUrl": "https://example.org/",
            "repoUrl": "https://example.org/repo",
            "documentationUrl": "https://example.org/docs",
            "productLogoUrl": "https://example.org/logo.svg",
            "description": "A lab.",
            "contactEmailAddress": "lab@example.org",
            "k8sConformanceUrl": "https://github.com/cncf/k8s-conformance/tree/main/v1.37/harness-lab",
        },
        "spec": spec,
    }


def junit(cases: dict[str, str]) -> str:
    """A gotestsum-shaped junit.xml; case name -> pass|fail|error|skip."""
    body = {
        "pass": "",
        "fail": "<failure message='Failed'>boom</failure>",
        "error": "<error message='Error'/>",
        "skip": "<skipped message='Skipped'/>",
    }
    tcs = "".join(
        f'<testcase classname="ai-conformance/test" name="{n}" time="1.0">{body[s]}</testcase>'
        for n, s in cases.items()
    )
    return f'<?xml version="1.0"?><testsuites><testsuite name="test" tests="{len(cases)}">{tcs}</testsuite></testsuites>'


PASSING = {f"{t}/{sub}": "pass" for t in TESTS.values() for sub in ("Positive", "Negative")} | {
    t: "pass" for t in TESTS.values()
}


def write(
    root: Path,
    doc: dict[str, Any] | str,
    junit_cases: dict[str, str] | None = None,
    subdir: str = PRODUCT_DIR,
) -> Path:
    """Write PRODUCT.yaml with its evidence files under root/subdir; return its path."""
    d = root / subdir
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(doc, dict):
        spec = doc.get("spec")
        for items in spec.values() if isinstance(spec, dict) else []:
            for it in items if isinstance(items, list) else []:
                if isinstance(it, dict) and it.get("id"):
                    (d / "evidence" / str(it["id"])).mkdir(parents=True, exist_ok=True)
                    (d / "evidence" / str(it["id"]) / "output.md").write_text("ok\n")
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    else:
        text = doc
    (d / "results").mkdir(exist_ok=True)
    (d / "results" / "junit.xml").write_text(junit(PASSING if junit_cases is None else junit_cases))
    p = d / "PRODUCT.yaml"
    p.write_text(text)
    return p


def item(doc: dict[str, Any], rid: str) -> dict[str, Any]:
    for items in doc["spec"].values():
        for it in items:
            if it["id"] == rid:
                return it  # type: ignore[no-any-return]
    raise KeyError(rid)


def errors(findings: list[Finding]) -> list[str]:
    return [f.subject for f in findings if f.level == "error"]


def warnings(findings: list[Finding]) -> list[str]:
    return [f.subject for f in findings if f.level == "warning"]


def only_error(findings: list[Finding]) -> Finding:
    errs = [f for f in findings if f.level == "error"]
    assert len(errs) == 1, [str(f) for f in findings]
    return errs[0]


# --- valid files --------------------------------------------------------------------------


def test_our_own_v137_file_is_clean(tmp_path: Path) -> None:
    findings = validate_file(write(tmp_path, product()))
    assert findings == []
    assert exit_code(findings) == 0


@pytest.mark.parametrize("version", catalog.versions())
def test_every_checklist_version_has_a_clean_file(tmp_path: Path, version: str) -> None:
    doc = product(version)
    doc["metadata"][
        "k8sConformanceUrl"
    ] = f"https://github.com/cncf/k8s-conformance/tree/master/{version}/lab"
    assert validate_file(write(tmp_path, doc, subdir=f"{version}/lab")) == []


def test_ovhcloud_example_fails_only_on_its_unquoted_version(tmp_path: Path) -> None:
    d = tmp_path / "v1.34" / "ovhcloud"
    d.mkdir(parents=True)
    shutil.copy(DATA / "ovhcloud-mks-v1.34-PRODUCT.yaml", d / "PRODUCT.yaml")
    for name in ("dra.yaml", "schedulingOrchestration.md", "security.md", "operator.md"):
        (d / name).write_text("evidence\n")
    findings = validate_file(d / "PRODUCT.yaml")
    # Published before upstream had a validator: platformVersion: 1.0 is a YAML float, which
    # upstream's "is not a string" rule now fails.
    assert [str(f) for f in findings] == [
        "error: platformVersion: '1.0' is a YAML float, not a string; quote it"
    ]
    assert exit_code(findings) == 1
    text = (d / "PRODUCT.yaml").read_text()
    (d / "PRODUCT.yaml").write_text(text.replace("platformVersion: 1.0", "platformVersion: '1.0'"))
    assert validate_file(d / "PRODUCT.yaml") == []


def test_ovhcloud_example_without_its_evidence_files(tmp_path: Path) -> None:
    d = tmp_path / "v1.34" / "ovhcloud"
    d.mkdir(parents=True)
    shutil.copy(DATA / "ovhcloud-mks-v1.34-PRODUCT.yaml", d / "PRODUCT.yaml")
    findings = validate_file(d / "PRODUCT.yaml")
    assert errors(findings) == [
        "platformVersion",
        "dra_support",
        "gang_scheduling",
        "pod_autoscaling",
        "secure_accelerator_access",
        "robust_controller",
    ]
    assert exit_code(findings) == 1


# --- one file per broken rule -------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], object]


def _del_meta(key: str) -> Mutation:
    return lambda d: d["metadata"].pop(key)


def _set_meta(key: str, value: Any) -> Mutation:
    return lambda d: d["metadata"].__setitem__(key, value)


def _set(rid: str, key: str, value: Any) -> Mutation:
    return lambda d: item(d, rid).__setitem__(key, value)


def _drop_req(rid: str) -> Mutation:
    def m(d: dict[str, Any]) -> None:
        for cat, items in d["spec"].items():
            d["spec"][cat] = [i for i in items if i["id"] != rid]

    return m


BROKEN: dict[str, tuple[Mutation, str, str]] = {
    # name: (mutation, subject, words the message holds)
    "missing vendorName": (
        _del_meta("vendorName"),
        "vendorName",
        "missing metadata field (vendorName or vendor_name)",
    ),
    "missing k8sConformanceUrl": (_del_meta("k8sConformanceUrl"), "k8sConformanceUrl", "missing"),
    "null platformName": (_set_meta("platformName", None), "platformName", "missing"),
    "empty description": (_set_meta("description", ""), "description", "is empty"),
    "placeholder websiteUrl": (
        _set_meta("websiteUrl", "[Your website URL]"),
        "websiteUrl",
        "placeholder",
    ),
    "placeholder email": (
        _set_meta("contactEmailAddress", "[email]"),
        "contactEmailAddress",
        "placeholder",
    ),
    "metadata not a string": (_set_meta("vendorName", ["a"]), "vendorName", "must be a string"),
    "conformance url blob": (
        _set_meta(
            "k8sConformanceUrl", "https://github.com/cncf/k8s-conformance/blob/main/v1.37/lab"
        ),
        "k8sConformanceUrl",
        "is not of the form",
    ),
    "conformance url other repo": (
        _set_meta(
            "k8sConformanceUrl", "https://github.com/cncf/k8s-ai-conformance/tree/main/v1.37/lab"
        ),
        "k8sConformanceUrl",
        "is not of the form",
    ),
    "conformance url no product": (
        _set_meta("k8sConformanceUrl", "https://github.com/cncf/k8s-conformance/tree/main/v1.37"),
        "k8sConformanceUrl",
        "is not of the form",
    ),
    "platformVersion int": (
        _set_meta("platformVersion", 2),
        "platformVersion",
        "'2' is a YAML int, not a string",
    ),
    "kubernetesVersion float": (
        _set_meta("kubernetesVersion", 1.37),
        "kubernetesVersion",
        "'1.37' is a YAML float",
    ),
    "metadata bool": (_set_meta("vendorName", True), "vendorName", "is a YAML bool"),
    "metadata mapping": (_set_meta("description", {"en": "x"}), "description", "is a mapping"),
    "camelCase null hides snake_case": (
        lambda d: (_set_meta("vendorName", None)(d), _set_meta("vendor_name", "Example")(d)),
        "vendorName",
        "missing metadata field",
    ),
    "missing requirement": (
        _drop_req("gang_scheduling"),
        "gang_scheduling",
        "missing requirement in category 'schedulingOrchestration'",
    ),
    "missing category": (
        lambda d: d["spec"].pop("observability"),
        "observability",
        "missing spec category",
    ),
    "category not a list": (
        lambda d: d["spec"].__setitem__("operator", {"id": "robust_controller"}),
        "operator",
        "list",
    ),
    "invalid status": (
        _set("gpu_sharing", "status", "Done"),
        "gpu_sharing",
        "status 'Done' is not one of",
    ),
    "status case": (_set("gpu_sharing", "status", "implemented"), "gpu_sharing", "is not one of"),
    "should empty status with evidence": (
        _set("gpu_sharing", "status", ""),
        "gpu_sharing",
        "status '' is not one of",
    ),
    "must partially": (
        _set("ai_inference", "status", "Partially Implemented"),
        "ai_inference",
        "MUST requirement is 'Partially Implemented' (must be Implemented)",
    ),
    "must n/a": (
        _set("robust_controller", "status", "N/A"),
        "robust_controller",
        "MUST requirement is 'N/A' (must be Implemented)",
    ),
    "autoscaling not implemented": (
        _set("cluster_autoscaling", "status", "Not Implemented"),
        "cluster_autoscaling",
        "(must be Implemented, or N/A with notes)",
    ),
    "should n/a without notes": (
        lambda d: (_set("gpu_sharing", "status", "N/A")(d), _set("gpu_sharing", "notes", "  ")(d)),
        "gpu_sharing",
        "N/A needs notes",
    ),
    "evidence missing": (
        _set("pod_autoscaling", "evidence", ["evidence/pod_autoscaling/nope.md"]),
        "pod_autoscaling",
        "not found",
    ),
    "evidence bad file url": (
        _set("pod_autoscaling", "evidence", ["file://evidence/nope.md#x"]),
        "pod_autoscaling",
        "not found",
    ),
    "evidence escapes": (
        _set("pod_autoscaling", "evidence", ["../../secret.md"]),
        "pod_autoscaling",
        "escapes the PRODUCT.yaml directory",
    ),
    "evidence escapes via file url": (
        _set("pod_autoscaling", "evidence", ["file://evidence/../../x.md"]),
        "pod_autoscaling",
        "escapes",
    ),
    "evidence is the dir": (
        _set("pod_autoscaling", "evidence", ["file://."]),
        "pod_autoscaling",
        "escapes",
    ),
    "evidence other product": (
        _set("pod_autoscaling", "evidence", ["v1.37/other/evidence.md"]),
        "pod_autoscaling",
        "another product",
    ),
    "evidence fragment only": (
        _set("pod_autoscaling", "evidence", ["#TestX"]),
        "pod_autoscaling",
        "empty file path",
    ),
    "evidence not strings": (
        _set("pod_autoscaling", "evidence", [{"url": "x"}]),
        "pod_autoscaling",
        "evidence[0] is a mapping; pod_autoscaling.evidence[0] must be text",
    ),
    "evidence single string": (
        _set("robust_controller", "evidence", "evidence/robust_controller/output.md"),
        "robust_controller",
        "evidence is one string; robust_controller.evidence must be a list",
    ),
    "evidence single string N/A": (
        lambda d: (_set("gpu_sharing", "evidence", "N/A")(d), _set("gpu_sharing", "status", "N/A")(d)),
        "gpu_sharing",
        "must be a list",
    ),
    "evidence a mapping": (
        _set("robust_controller", "evidence", {"docs": "x"}),
        "robust_controller",
        "evidence is a mapping",
    ),
    "notes not a string": (
        _set("ai_inference", "notes", ["a", "b"]),
        "ai_inference",
        "notes is a list; ai_inference.notes must be text",
    ),
    "description a list": (
        _set("ai_inference", "description", ["a"]),
        "ai_inference",
        "description is a list",
    ),
    "level a mapping": (_set("gpu_sharing", "level", {"x": 1}), "gpu_sharing", "level is a mapping"),
    "status a list": (
        _set("gpu_sharing", "status", ["Implemented"]),
        "gpu_sharing",
        "status is a list",
    ),
    "entry is a string": (
        lambda d: d["spec"]["operator"].append("robust_controller"),
        "operator",
        "spec.operator entry 2 is the string 'robust_controller', not a requirement mapping",
    ),
    "entry is a list": (
        lambda d: d["spec"]["operator"].append(["x"]),
        "operator",
        "entry 2 is a list",
    ),
    "id a list": (
        lambda d: d["spec"]["operator"].append({"id": ["x"], "status": "N/A"}),
        "operator",
        "id is a list",
    ),
    "metadata not a mapping": (
        lambda d: d.__setitem__("metadata", ["a"]),
        "metadata",
        "'metadata' is a list, not a mapping",
    ),
    "spec not a mapping": (
        lambda d: d.__setitem__("spec", "all of it"),
        "spec",
        "'spec' is the string 'all of it', not a mapping of categories",
    ),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_each_broken_rule_gives_one_error(tmp_path: Path, name: str) -> None:
    mutate, subject, words = BROKEN[name]
    doc = product()
    mutate(doc)
    findings = validate_file(write(tmp_path, doc))
    err = only_error(findings)
    assert err.subject == subject
    assert words in err.message
    assert exit_code(findings) == 1


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path


def test_must_finding_line(tmp: Path) -> None:
    doc = product("v1.35")
    item(doc, "dra_support")["status"] = "Not Implemented"
    doc["metadata"][
        "k8sConformanceUrl"
    ] = "https://github.com/cncf/k8s-conformance/tree/main/v1.35/lab"
    findings = validate_file(write(tmp, doc, subdir="v1.35/lab"))
    # what a person reads: level, subject, cause, on one line
    assert [str(f) for f in findings] == [
        "error: dra_support: MUST requirement is 'Not Implemented' (must be Implemented)"
    ]


def test_missing_must_status_gives_status_and_level_errors(tmp: Path) -> None:
    doc = product()
    del item(doc, "ai_inference")["status"]
    findings = validate_file(write(tmp, doc))
    assert errors(findings) == ["ai_inference", "ai_inference"]
    assert "status '' is not one of" in findings[0].message
    assert "MUST requirement is ''" in findings[1].message


# --- accepted variants --------------------------------------------------------------------


ACCEPTED: dict[str, tuple[Mutation, list[str]]] = {
    # name: (mutation, warning subjects)
    "snake case metadata": (
        lambda d: d.__setitem__("metadata", {_snake(k): v for k, v in d["metadata"].items()}),
        [],
    ),
    "no repoUrl": (_del_meta("repoUrl"), []),
    "empty repoUrl": (_set_meta("repoUrl", ""), []),
    "patch version": (_set_meta("kubernetesVersion", "v1.37.3"), []),
    "version without v": (_set_meta("kubernetesVersion", "1.37"), []),
    "should left blank": (
        lambda d: (
            _set("workload_sandboxing", "status", "")(d),
            _set("workload_sandboxing", "evidence", [])(d),
        ),
        [],
    ),
    "should blank, evidence key absent": (
        lambda d: (item(d, "gpu_sharing").pop("status"), item(d, "gpu_sharing").pop("evidence")),
        [],
    ),
    "should n/a with notes": (_set("gpu_sharing", "status", "N/A"), []),
    "should not implemented": (_set("gpu_sharing", "status", "Not Implemented"), []),
    "autoscaling n/a with notes": (
        lambda d: (
            _set("cluster_autoscaling", "status", "N/A")(d),
            _set("cluster_autoscaling", "evidence", [])(d),
        ),
        ["cluster_autoscaling"],
    ),
    "implemented without evidence": (
        _set("robust_controller", "evidence", []),
        ["robust_controller"],
    ),
    "evidence null": (_set("robust_controller", "evidence", None), ["robust_controller"]),
    "evidence url": (_set("robust_controller", "evidence", ["https://example.org/operator"]), []),
    "evidence ./ and fragment": (
        _set("robust_controller", "evidence", ["./evidence/robust_controller/output.md#step-2"]),
        [],
    ),
    "evidence own repo-root prefix": (
        _set(
            "robust_controller",
            "evidence",
            [f"file://{PRODUCT_DIR}/evidence/robust_controller/output.md"],
        ),
        [],
    ),
    "evidence leading slash": (
        _set("robust_controller", "evidence", ["file:///evidence/robust_controller/output.md"]),
        [],
    ),
    "empty evidence entry": (
        _set("robust_controller", "evidence", ["", "evidence/robust_controller/output.md"]),
        [],
    ),
    "description reflowed": (
        lambda d: item(d, "ai_inference").__setitem__(
            "description", "  " + item(d, "ai_inference")["description"].replace(" ", "\n", 3)
        ),
        [],
    ),
    "unknown extra keys": (
        lambda d: (
            d.update({"x-vendor": {"a": 1}}),
            item(d, "ai_inference").update(links=["x"]),
            d["metadata"].update(slack="#x"),
        ),
        [],
    ),
    "older version's requirement": (
        lambda d: d["spec"]["accelerators"].append(
            {
                "id": "dra_support",
                "description": "d",
                "level": "MUST",
                "status": "Implemented",
                "evidence": [],
                "notes": "",
            }
        ),
        ["dra_support"],
    ),
    "unknown category": (lambda d: d["spec"].__setitem__("storage", []), ["storage"]),
    "duplicate id": (
        lambda d: d["spec"]["operator"].append(copy.deepcopy(item(d, "robust_controller"))),
        ["robust_controller"],
    ),
    "level missing": (lambda d: item(d, "ai_inference").pop("level"), ["ai_inference"]),
    # upstream reads levels from the checklist and never compares descriptions
    "edited level": (_set("gpu_sharing", "level", "MUST"), ["gpu_sharing"]),
    "edited description": (_set("ai_inference", "description", "Gateway API."), ["ai_inference"]),
    "entry without id": (
        lambda d: d["spec"]["operator"].append({"status": "Implemented"}),
        ["operator"],
    ),
    "empty entry": (lambda d: d["spec"]["operator"].append(None), ["operator"]),
    "kubernetesVersion of another minor": (
        _set_meta("kubernetesVersion", "v1.32.1"),
        ["kubernetesVersion"],
    ),
    "kubernetesVersion not a version": (_set_meta("kubernetesVersion", "latest"), ["kubernetesVersion"]),
    "whitespace-only metadata": (_set_meta("description", "   "), ["description"]),
    "placeholder inside spaces": (_set_meta("platformName", " [name] "), ["platformName"]),
    "scalars in text fields": (
        lambda d: (_set("gpu_sharing", "notes", 1.5)(d), _set("gpu_sharing", "id", "gpu_sharing")(d)),
        [],
    ),
    "null evidence entry": (
        _set("robust_controller", "evidence", [None, "evidence/robust_controller/output.md"]),
        [],
    ),
    "category null": (
        lambda d: (d["spec"].__setitem__("storage", None)),
        ["storage"],
    ),
}


def _snake(k: str) -> str:
    return {c: s for c, s, _ in validate.METADATA_FIELDS}[k]


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_accepted_variants_have_no_error(tmp_path: Path, name: str) -> None:
    mutate, warns = ACCEPTED[name]
    doc = product()
    mutate(doc)
    findings = validate_file(write(tmp_path, doc))
    assert errors(findings) == [], [str(f) for f in findings]
    assert warnings(findings) == warns, [str(f) for f in findings]


def test_older_requirement_warning_names_its_versions(tmp: Path) -> None:
    doc = product()
    ACCEPTED["older version's requirement"][0](doc)
    (w,) = validate_file(write(tmp, doc))
    assert w.message.startswith("not in checklist v1.37 (it belongs to v1.33, v1.34, v1.35)")


def test_misplaced_requirement_says_where_it_is(tmp: Path) -> None:
    doc = product()
    moved = item(doc, "gang_scheduling")
    _drop_req("gang_scheduling")(doc)
    doc["spec"]["accelerators"].append(moved)
    findings = validate_file(write(tmp, doc))
    assert errors(findings) == ["gang_scheduling"]
    assert "(found under 'accelerators')" in findings[0].message


def test_relabelled_levels_do_not_change_the_rules(tmp: Path) -> None:
    doc = product()
    # a MUST relabelled SHOULD and left blank: the checklist's MUST still applies
    item(doc, "ai_inference").update(level="SHOULD", status="", evidence=[])
    # a SHOULD relabelled MUST and not implemented: still only a SHOULD
    item(doc, "gpu_sharing").update(level="MUST", status="Not Implemented")
    findings = validate_file(write(tmp, doc))
    assert [(f.level, f.subject) for f in findings] == [
        ("warning", "gpu_sharing"),
        ("warning", "ai_inference"),
        ("error", "ai_inference"),
        ("error", "ai_inference"),
    ]
    assert findings[0].message.startswith("level is 'MUST' but the checklist says SHOULD")
    assert findings[1].message.startswith("level is 'SHOULD' but the checklist says MUST")
    assert "MUST requirement is ''" in findings[3].message


def test_version_directory_decides(tmp: Path) -> None:
    # A v1.35 file under v1.37/ is checked against v1.37, as upstream does.
    doc = product("v1.35")
    doc["metadata"]["kubernetesVersion"] = "v1.35.3"
    findings = validate_file(write(tmp, doc, subdir="v1.37/lab"))
    assert "the directory's checklist (v1.37) decides" in findings[0].message
    assert findings[0].subject == "kubernetesVersion" and findings[0].level == "warning"
    missing = {f.subject for f in findings if f.message.startswith("missing requirement")}
    assert missing == {
        "advanced_inference_ingress",
        "high_performance_networking",
        "disaggregated_inference",
        "workload_sandboxing",
    }
    assert "dra_support" in warnings(findings)  # not in v1.37


def test_version_directory_mismatch_is_a_warning(tmp: Path) -> None:
    findings = validate_file(write(tmp, product(), subdir="v1.36/lab"))
    assert errors(findings) == []
    # v1.36 words accelerator_metrics differently; workload_sandboxing came in v1.37
    assert warnings(findings) == ["kubernetesVersion", "accelerator_metrics", "workload_sandboxing"]
    assert "the directory's checklist (v1.36) decides" in findings[0].message


def test_directory_without_checklist(tmp: Path) -> None:
    findings = validate_file(write(tmp, product(), subdir="v1.32/lab"))
    assert errors(findings) == ["file"]
    assert "under v1.32/, a version with no checklist" in findings[0].message


def test_outside_a_version_directory_kubernetes_version_chooses(tmp: Path) -> None:
    # Upstream refuses a path without vX.Y/; we check the file and say where it must go.
    doc = product("v1.35")
    doc["metadata"]["kubernetesVersion"] = "v1.35.3"
    findings = validate_file(write(tmp, doc, subdir="x/lab"))
    assert [(f.level, f.subject) for f in findings] == [("warning", "file")]
    assert "checked against v1.35, from kubernetesVersion" in findings[0].message


def test_version_from_directory_when_metadata_lacks_it(tmp: Path) -> None:
    doc = product()
    del doc["metadata"]["kubernetesVersion"]
    findings = validate_file(write(tmp, doc))
    assert errors(findings) == ["kubernetesVersion"]  # still required, but the spec was checked
    assert only_error(findings).message.startswith("missing metadata field")


def test_no_version_anywhere(tmp: Path) -> None:
    doc = product()
    del doc["metadata"]["kubernetesVersion"]
    doc["spec"]["accelerators"] = []
    findings = validate_file(write(tmp, doc, subdir="lab"))
    assert errors(findings) == ["kubernetesVersion", "file"]
    assert "cannot choose a checklist" in findings[1].message


# --- the file itself ----------------------------------------------------------------------


def test_malformed_yaml_gives_one_finding_with_the_line(tmp: Path) -> None:
    text = "metadata:\n  platformName: x\n  vendorName: [unclosed\nspec: {}\n"
    findings = validate_file(write(tmp, text))
    assert len(findings) == 1
    assert findings[0].subject == "file"
    assert "line 4" in findings[0].message
    assert "\n" not in str(findings[0])


def test_tab_indentation_is_malformed(tmp: Path) -> None:
    (f,) = validate_file(write(tmp, "metadata:\n\tplatformName: x\n"))
    assert (f.level, f.subject) == ("error", "file")
    assert "line 2" in f.message


def _yaml(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def write_text(root: Path, text: str) -> Path:
    """PRODUCT.yaml as given, beside the evidence files of product()."""
    p = write(root, product())
    p.write_text(text)
    return p


def test_duplicate_key_where_upstream_decodes(tmp: Path) -> None:
    text = _yaml(product()).replace("  vendorName: Example\n", "  vendorName: Example\n  vendorName: b\n")
    findings = validate_file(write_text(tmp, text))
    err = only_error(findings)
    assert err.subject == "metadata"
    assert "key 'vendorName' at line 6 is already set at line 5" in err.message
    # twice in one requirement
    text = _yaml(product()).replace("    status: Implemented\n", "    status: Implemented\n    status: N/A\n", 1)
    (err,) = [f for f in validate_file(write_text(tmp, text)) if f.level == "error"]
    assert "key 'status' at line" in err.message


def test_duplicate_key_where_upstream_does_not_look(tmp: Path) -> None:
    # an unknown top-level key is never decoded upstream, so its insides are not checked
    text = _yaml(product()) + "x-vendor:\n  a: 1\n  a: 2\n"
    assert validate_file(write_text(tmp, text)) == []


def test_empty_file_misses_both_sections(tmp: Path) -> None:
    for text in ("", "~\n", "# only a comment\n"):
        findings = validate_file(write(tmp, text))
        assert errors(findings) == ["metadata", "spec"], text


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "42\n"])
def test_not_a_mapping(tmp: Path, text: str) -> None:
    (f,) = validate_file(write(tmp, text))
    assert (f.level, f.subject) == ("error", "file")
    assert "not a mapping with metadata and spec" in f.message


def test_only_the_first_document_is_read(tmp: Path) -> None:
    text = _yaml(product()) + "---\nthis: [is never read\n"
    assert validate_file(write_text(tmp, text)) == []


def test_missing_sections(tmp: Path) -> None:
    findings = validate_file(write(tmp, "other: 1\n"))
    assert errors(findings) == ["metadata", "spec"]


PLAIN_SCALARS = {
    # as yaml.v3 decodes an unquoted value into an untyped field
    "1.0": "float", "42": "int", "0x1F": "int", "0o17": "int", "1_000": "int", "-3": "int",
    "1e3": "float", ".5": "float", ".inf": "float", "-.Inf": "float", ".NaN": "float",
    "true": "bool", "False": "bool", "TRUE": "bool",
    "2024-01-31": "timestamp", "2024-1-2 3:04:05": "timestamp", "2024-01-31T10:00:00Z": "timestamp",
    "2024-02-30": "str", "2024-01-31T10:00:00": "str",
    "yes": "str", "no": "str", "on": "str", "off": "str", "y": "str",
    "v1.37": "str", "1.0.0": "str", "0x": "str", "1e": "str", "-": "str", ".": "str", "tRUE": "str",
    "": "null", "~": "null", "null": "null", "NULL": "null",
}  # fmt: skip


@pytest.mark.parametrize(("text", "kind"), list(PLAIN_SCALARS.items()))
def test_plain_scalar_types(text: str, kind: str) -> None:
    tag = validate_decode.plain_scalar_tag(text)
    assert tag == f"tag:yaml.org,2002:{kind}"


def test_yes_is_text_but_a_date_is_not(tmp: Path) -> None:
    text = _yaml(product()).replace("description: A lab.", "description: yes")
    assert validate_file(write_text(tmp, text)) == []
    text = text.replace("platformVersion: 0.1.0", "platformVersion: 2024-01-31")
    assert [str(f) for f in validate_file(write_text(tmp, text))] == [
        "error: platformVersion: '2024-01-31' is a YAML timestamp, not a string; quote it"
    ]


def test_unreadable_file(tmp: Path) -> None:
    (f,) = validate_file(tmp / "nope" / "PRODUCT.yaml")
    assert (f.level, f.subject) == ("error", "file")


def test_finding_is_one_line() -> None:
    f = Finding("warning", "x", "a\nb  c")
    assert str(f) == "warning: x: a b c"
    assert exit_code([f]) == 0
    assert exit_code([f, Finding("error", "y", "z")]) == 1
    assert exit_code([]) == 0


# --- v1.37 test artifacts -----------------------------------------------------------------


def test_failing_test_in_junit_is_one_error_per_artifact(tmp: Path) -> None:
    cases = PASSING | {"TestUnrelated": "fail", "TestOther": "error"}
    findings = validate_file(write(tmp, product(), junit_cases=cases))
    # linked by three requirements, reported once, by the first in file order
    assert [str(f) for f in findings] == [
        "error: gang_scheduling: test artifact file://results/junit.xml contains failing tests: TestOther, TestUnrelated"
    ]


def test_referenced_test_failed(tmp: Path) -> None:
    cases = PASSING | {"TestGangScheduling/Negative": "fail"}
    del cases["TestGangScheduling"]
    findings = validate_file(write(tmp, product(), junit_cases=cases))
    assert errors(findings) == ["gang_scheduling", "gang_scheduling"]
    assert "contains failing tests: TestGangScheduling/Negative" in findings[0].message
    assert findings[1].message == "test TestGangScheduling failed in file://results/junit.xml"


def test_referenced_test_not_found(tmp: Path) -> None:
    doc = product()
    item(doc, "gang_scheduling")["evidence"][0] = "file://results/junit.xml#TestNope"
    findings = validate_file(write(tmp, doc))
    assert [str(f) for f in findings] == [
        "error: gang_scheduling: test TestNope not found in file://results/junit.xml"
    ]


def test_auto_test_name_used_without_fragment(tmp: Path) -> None:
    doc = product()
    item(doc, "gang_scheduling")["evidence"][0] = "results/junit.xml"
    cases = {k: v for k, v in PASSING.items() if not k.startswith("TestGangScheduling")}
    findings = validate_file(write(tmp, doc, junit_cases=cases))
    assert errors(findings) == ["gang_scheduling"]
    assert "TestGangScheduling not found" in findings[0].message


def test_skipped_under_implemented_is_an_error(tmp: Path) -> None:
    cases = PASSING | {"TestAcceleratorClusterAutoscaling": "skip"}
    findings = validate_file(write(tmp, product(), junit_cases=cases))
    assert [str(f) for f in findings] == [
        "error: cluster_autoscaling: Implemented but test TestAcceleratorClusterAutoscaling was skipped in file://results/junit.xml"
    ]


def test_skipped_with_na_is_accepted(tmp: Path) -> None:
    doc = product()
    item(doc, "cluster_autoscaling")["status"] = "N/A"
    item(doc, "cluster_autoscaling")["notes"] = "No cluster autoscaler on this platform."
    cases = PASSING | {"TestAcceleratorClusterAutoscaling": "skip"}
    findings = validate_file(write(tmp, doc, junit_cases=cases))
    assert errors(findings) == []
    assert warnings(findings) == ["cluster_autoscaling"]  # the MUST-N/A review note


def test_all_subtests_skipped_is_skipped(tmp: Path) -> None:
    cases = {k: v for k, v in PASSING.items() if k != "TestGangScheduling"}
    cases |= {"TestGangScheduling/Positive": "skip", "TestGangScheduling/Negative": "skip"}
    findings = validate_file(write(tmp, product(), junit_cases=cases))
    assert errors(findings) == ["gang_scheduling"]
    assert "was skipped" in findings[0].message


def test_auto_tested_without_artifact_warns_on_v137_only(tmp: Path) -> None:
    doc = product()
    item(doc, "gang_scheduling")["evidence"] = ["evidence/gang_scheduling/output.md"]
    findings = validate_file(write(tmp, doc))
    assert [(f.level, f.subject) for f in findings] == [("warning", "gang_scheduling")]
    assert "TestGangScheduling" in findings[0].message
    # v1.36 predates hybrid verification: no such warning
    v136 = product("v1.36")
    v136["metadata"][
        "k8sConformanceUrl"
    ] = "https://github.com/cncf/k8s-conformance/tree/main/v1.36/lab"
    assert validate_file(write(tmp, v136, subdir="v1.36/lab")) == []


def test_junit_bare_testsuite_and_nested_suites(tmp: Path) -> None:
    d = tmp / PRODUCT_DIR
    doc = product()
    p = write(tmp, doc)
    nested = (
        '<testsuite name="outer"><testsuite name="inner">'
        '<testcase name="TestSecureAcceleratorAccess"/>'
        '<testcase name="TestGangScheduling"/>'
        '<testcase name="TestAcceleratorClusterAutoscaling"><skipped/></testcase>'
        "</testsuite></testsuite>"
    )
    (d / "results" / "junit.xml").write_text(nested)
    assert errors(validate_file(p)) == ["cluster_autoscaling"]


def test_junit_without_testcases_is_an_error(tmp: Path) -> None:
    findings = validate_file(write(tmp, product(), junit_cases={}))
    assert errors(findings) == ["gang_scheduling"]  # reported once, by the first link (file order)
    assert "no <testcase> elements" in findings[0].message


def test_junit_not_xml(tmp: Path) -> None:
    p = write(tmp, product())
    (p.parent / "results" / "junit.xml").write_text("not xml")
    findings = validate_file(p)
    assert errors(findings) == ["gang_scheduling"]
    assert "cannot be read: parsing JUnit XML" in findings[0].message


def _with_artifact(
    tmp: Path, name: str, content: str, status: str = "Implemented"
) -> list[Finding]:
    doc = product()
    it = item(doc, "gang_scheduling")
    it["evidence"] = [f"file://results/{name}#TestGangScheduling"]
    it["status"] = status
    p = write(tmp, doc)
    (p.parent / "results" / name).write_text(content)
    return validate_file(p)


def _events(*events: tuple[str, str]) -> str:
    lines = [
        json.dumps(
            {
                "Time": "2026-01-01T00:00:00Z",
                "Action": "run",
                "Package": "p",
                "Test": "TestGangScheduling",
            }
        )
    ]
    for action, test in events:
        e = {"Action": action, "Package": "sigs.k8s.io/ai-conformance/test"}
        if test:
            e["Test"] = test
        lines.append(json.dumps(e))
    lines.append(json.dumps({"Action": "output", "Package": "p", "Output": "ok\n"}))
    return "\n".join(lines) + "\n"


def test_results_json_pass(tmp: Path) -> None:
    text = _events(
        ("pass", "TestGangScheduling/PositiveGangScheduling"),
        ("pass", "TestGangScheduling"),
        ("pass", ""),
    )
    assert _with_artifact(tmp, "results.json", text) == []


def test_results_json_failure(tmp: Path) -> None:
    text = _events(
        ("fail", "TestGangScheduling/NegativeGangScheduling"),
        ("fail", "TestGangScheduling"),
        ("fail", ""),
    )
    findings = _with_artifact(tmp, "results.json", text)
    assert errors(findings) == ["gang_scheduling", "gang_scheduling"]
    assert findings[0].message.endswith(
        "contains failing tests: TestGangScheduling, TestGangScheduling/NegativeGangScheduling"
    )
    assert findings[1].message == "test TestGangScheduling failed in file://results/results.json"


def test_results_json_package_failure(tmp: Path) -> None:
    # a build failure: the package fails and no test ran
    text = json.dumps({"Action": "fail", "Package": "sigs.k8s.io/ai-conformance/test"}) + "\n"
    findings = _with_artifact(tmp, "results.json", text)
    assert "contains failing tests: package sigs.k8s.io/ai-conformance/test" in findings[0].message
    assert findings[1].message.startswith("test TestGangScheduling not found")


def test_results_json_bad_line(tmp: Path) -> None:
    findings = _with_artifact(
        tmp, "results.json", '{"Action":"pass","Test":"TestGangScheduling"}\nnot json\n'
    )
    assert errors(findings) == ["gang_scheduling"]
    assert "at line 2" in findings[0].message


def test_results_json_no_events(tmp: Path) -> None:
    findings = _with_artifact(tmp, "results.json", _events())
    assert "no test events" in only_error(findings).message


E2E_LOG = """\
=== RUN   TestGangScheduling
=== RUN   TestGangScheduling/PositiveGangScheduling
    gang_test.go:88: RESULT: GANG_ADMITTED
=== RUN   TestGangScheduling/NegativeGangScheduling
        --- PASS: TestGangScheduling/PositiveGangScheduling (12.30s)
    --- {neg}: TestGangScheduling/NegativeGangScheduling (30.01s)
PASS
ok  \tsigs.k8s.io/ai-conformance/test\t42.500s
"""


def test_e2e_log_indented_subtests_aggregate(tmp: Path) -> None:
    # no top-level "--- PASS: TestGangScheduling" line: the subtests decide
    assert _with_artifact(tmp, "e2e.log", E2E_LOG.format(neg="PASS")) == []


def test_e2e_log_failing_subtest(tmp: Path) -> None:
    findings = _with_artifact(tmp, "e2e.log", E2E_LOG.format(neg="FAIL"))
    assert errors(findings) == ["gang_scheduling", "gang_scheduling"]
    assert findings[1].message == "test TestGangScheduling failed in file://results/e2e.log"


def test_e2e_log_skipped_subtests(tmp: Path) -> None:
    text = "    --- SKIP: TestGangScheduling/A (0.00s)\r\n    --- SKIP: TestGangScheduling/B (0.00s)\r\n"
    assert "was skipped" in only_error(_with_artifact(tmp, "e2e.log", text)).message
    assert errors(_with_artifact(tmp, "e2e.log", text, status="Partially Implemented")) == [
        "gang_scheduling"
    ]  # the MUST rule only


def test_e2e_log_without_results(tmp: Path) -> None:
    assert (
        "no '--- PASS/FAIL/SKIP:' result lines"
        in only_error(_with_artifact(tmp, "e2e.log", "hello\n")).message
    )


def test_artifact_names_are_canonical_and_case_insensitive(tmp: Path) -> None:
    # JUnit.XML in another folder is parsed; junit_01.xml is only checked for existence
    doc = product()
    item(doc, "gang_scheduling")["evidence"] = [
        "file://logs/JUnit.XML#TestGangScheduling",
        "logs/junit_01.xml",
    ]
    p = write(tmp, doc)
    (p.parent / "logs").mkdir()
    (p.parent / "logs" / "JUnit.XML").write_text(junit({"TestGangScheduling": "fail"}))
    (p.parent / "logs" / "junit_01.xml").write_text("not even xml")
    findings = validate_file(p)
    assert errors(findings) == ["gang_scheduling", "gang_scheduling"]
    assert "JUnit.XML contains failing tests" in findings[0].message


def test_artifact_parse_helpers() -> None:
    r = validate.parse_e2e_log("--- FAIL: TestA (1s)\n--- PASS: TestA (1s)\n")
    assert r.outcome_for("TestA") is validate.Outcome.FAIL  # a fail is never downgraded
    assert r.failures == ["TestA"]
    r = validate.parse_junit(
        b"<testsuites><testsuite><testcase name='T/a'/><testcase name='T/b'><skipped/></testcase></testsuite></testsuites>"
    )
    assert r.outcome_for("T") is validate.Outcome.PASS
    assert r.outcome_for("T/b") is validate.Outcome.SKIP
    assert r.outcome_for("U") is validate.Outcome.UNKNOWN
    assert r.outcome_for("T/") is validate.Outcome.UNKNOWN
    r = validate.parse_go_test_json(
        '{"action":"skip","test":"T"}\n'
    )  # field names match case-insensitively
    assert r.outcome_for("T") is validate.Outcome.SKIP


# --- online -------------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self, head: bool) -> None:
        code = {"/ok": 200, "/missing": 404, "/moved": 301}.get(self.path, 200)
        if self.path == "/nohead" and head:
            code = 405
        self.send_response(code)
        if code == 301:
            self.send_header("Location", "/ok")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(True)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(False)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_check_url(server: str) -> None:
    assert validate.check_url(f"{server}/ok") is None
    assert validate.check_url(f"{server}/nohead") is None  # HEAD refused, GET answers
    assert validate.check_url(f"{server}/moved") is None
    assert validate.check_url(f"{server}/missing") == "status 404"


def test_check_url_refused() -> None:
    srv = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    port = srv.server_address[1]
    srv.server_close()  # nothing listens there now
    problem = validate.check_url(f"http://127.0.0.1:{port}/", timeout=2)
    assert problem is not None and "refused" in problem.lower()


def test_online_checks_urls(tmp: Path, server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    real = validate.check_url

    def local_only(url: str, timeout: float = 2.0) -> str | None:
        asked.append(url)
        # never leave this machine: anything not on loopback counts as reachable
        return real(url, timeout) if url.startswith("http://127.0.0.1:") else None

    monkeypatch.setattr(validate, "check_url", local_only)
    monkeypatch.setattr(validate, "fetch_cncf_members", lambda: {"Example"})
    doc = product()
    doc["metadata"]["websiteUrl"] = f"{server}/missing"
    item(doc, "robust_controller")["evidence"] = [f"{server}/ok", f"{server}/missing"]
    p = write(tmp, doc)

    assert validate_file(p) == []  # offline: nothing fetched
    assert asked == []

    findings = validate_file(p, online=True)
    assert [str(f) for f in findings] == [
        f"error: websiteUrl: metadata URL {server}/missing does not answer (status 404)",
        f"error: robust_controller: evidence URL {server}/missing does not answer (status 404)",
    ]
    assert doc["metadata"]["k8sConformanceUrl"] in asked
    assert len(asked) == len(set(asked))  # each URL asked once


def test_artifacts_are_parsed_before_v137_too(tmp_path: Path) -> None:
    # upstream parses canonical artifacts whatever the version; only the
    # "link a test artifact" warning is v1.37+
    doc = product("v1.35")
    doc["metadata"]["k8sConformanceUrl"] = "https://github.com/cncf/k8s-conformance/tree/main/v1.35/lab"
    item(doc, "gang_scheduling")["evidence"] = ["results/e2e.log"]
    p = write(tmp_path, doc, subdir="v1.35/lab")
    (p.parent / "results" / "e2e.log").write_text("--- FAIL: TestGangScheduling (1.00s)\n")
    assert errors(validate_file(p)) == ["gang_scheduling", "gang_scheduling"]


def test_iter_lines_puts_errors_first() -> None:
    fs = [Finding("warning", "a", "w"), Finding("error", "b", "e"), Finding("warning", "c", "x")]
    assert list(validate.iter_lines(fs)) == ["error: b: e", "warning: a: w", "warning: c: x"]


def test_junit_content_after_the_root_is_not_read(tmp: Path) -> None:
    # Go's decoder stops after the first element; expat alone would call the rest junk.
    p = write(tmp, product())
    f = p.parent / "results" / "junit.xml"
    f.write_text(f.read_text() + "\n<trailing>never read</trailing>\n")
    assert validate_file(p) == []


def test_junit_in_another_encoding_is_unreadable() -> None:
    data = b"<?xml version='1.0' encoding='ISO-8859-1'?><testsuite><testcase name='T'/></testsuite>"
    with pytest.raises(validate.ArtifactError, match="only UTF-8"):
        validate.parse_junit(data)
    assert validate.parse_junit(data.replace(b"ISO-8859-1", b"utf-8")).tests == {
        "T": validate.Outcome.PASS
    }


def test_results_json_null_line_is_no_event() -> None:
    r = validate.parse_go_test_json('null\n{"Action":"pass","Test":"T"}\n')
    assert r.outcome_for("T") is validate.Outcome.PASS
    with pytest.raises(validate.ArtifactError, match="at line 1"):
        validate.parse_go_test_json('[1]\n{"Action":"pass","Test":"T"}\n')


LANDSCAPE = """\
landscape:
  - name: App Definition
    subcategories: [{name: x, items: [{name: Not A Member}]}]
  - name: CNCF Members
    subcategories:
      - name: Platinum
        items: [{name: Example (member)}, {name: Other Corp (supporter)}]
      - name: Silver
        items: [{name: "  Spaced Inc  "}]
"""


def test_cncf_members_from_the_landscape() -> None:
    assert validate.cncf_members(LANDSCAPE) == {"Example", "Other Corp", "Spaced Inc"}
    with pytest.raises(ValueError, match="no 'CNCF Members'"):
        validate.cncf_members("landscape: []\n")


@pytest.mark.parametrize(
    ("vendor", "members", "want"),
    [
        ("Example", {"Example"}, []),
        ("Examples Inc", {"Example"}, ["is not a CNCF member"]),
        ("Example", OSError("offline"), ["landscape did not load (offline)"]),
    ],
)
def test_vendor_membership_online(
    tmp: Path, monkeypatch: pytest.MonkeyPatch, vendor: str, members: Any, want: list[str]
) -> None:
    def fetch() -> set[str]:
        if isinstance(members, Exception):
            raise members
        return set(members)

    monkeypatch.setattr(validate, "check_url", lambda url, timeout=2.0: None)
    monkeypatch.setattr(validate, "fetch_cncf_members", fetch)
    doc = product()
    doc["metadata"]["vendorName"] = vendor
    p = write(tmp, doc)
    assert validate_file(p) == []  # offline: membership is not looked up
    findings = validate_file(p, online=True)
    assert [f.subject for f in findings] == ["vendorName"] * len(want)
    for f, words in zip(findings, want):
        assert f.level == "error" and words in f.message
