"""results/junit.xml: one <testsuite> per requirement, its aggregate test plus one testcase per check.

Shaped like gotestsum's output, which the CNCF validator parses: ``testcase@name`` with a child
``<failure>``/``<error>`` (both count as failed) or ``<skipped>``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from harness.report.gotests import PACKAGE, GoTest, RequirementTests, requirement_test_name, requirement_tests
from harness.run import Run

__all__ = ["render_junit", "requirement_test_name"]

# characters XML 1.0 cannot carry, even escaped
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_junit(run: Run, requirement_ids: list[str] | None = None) -> str:
    groups = requirement_tests(run, requirement_ids)
    tests = [t for g in groups for t in g.all()]
    root = ET.Element("testsuites", {"name": PACKAGE, **_counts(tests)})
    for g in groups:
        root.append(_suite(run, g))
    ET.indent(root, "  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _counts(tests: list[GoTest]) -> dict[str, str]:
    return {
        "tests": str(len(tests)),
        "failures": str(sum(t.outcome == "fail" for t in tests)),
        "errors": str(sum(t.outcome == "error" for t in tests)),
        "skipped": str(sum(t.outcome == "skip" for t in tests)),
        # subtests run inside their parent, so only top-level tests add up to wall time
        "time": _secs(sum(t.duration_s for t in tests if "/" not in t.name)),
    }


def _suite(run: Run, g: RequirementTests) -> ET.Element:
    suite = ET.Element("testsuite", {"name": g.req_id, **_counts(g.all())})
    if run.started:
        suite.set("timestamp", run.started)
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("requirement", g.req_id),
        ("status", str(g.result.status)),
        ("outcome", str(g.result.outcome)),
        ("simulated", "true" if run.lab.simulated or g.result.simulated else "false"),
        ("needs_hardware", "true" if g.result.needs_hardware else "false"),
        ("run_id", run.run_id),
    ):
        ET.SubElement(props, "property", {"name": name, "value": _clean(value)})
    for t in g.all():
        suite.append(_case(g.req_id, t))
    return suite


def _case(req_id: str, t: GoTest) -> ET.Element:
    attrs = {"name": _clean(t.name), "classname": f"{PACKAGE}/{req_id}", "time": _secs(t.duration_s)}
    case = ET.Element("testcase", attrs)
    body = _clean("\n".join(t.log))
    if t.outcome in ("fail", "error"):
        tag = "failure" if t.outcome == "fail" else "error"
        el = ET.SubElement(case, tag, {"message": _clean(t.message), "type": tag})
        el.text = body
    elif t.outcome == "skip":
        ET.SubElement(case, "skipped", {"message": _clean(t.message)})
        if body:
            ET.SubElement(case, "system-out").text = body
    elif body:
        ET.SubElement(case, "system-out").text = body
    return case


def _clean(s: str) -> str:
    return _INVALID_XML.sub("\ufffd", s)


def _secs(s: float) -> str:
    return f"{s:.3f}"
