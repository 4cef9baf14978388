"""Test artifacts and evidence links of a PRODUCT.yaml, read as the CNCF validator reads them.

Only the canonical names (``junit.xml``, ``results.json``, ``e2e.log``, any directory, any case)
are parsed; any other evidence file only has to exist. A link is a bare relative path or a
``file://`` link, optionally with ``#TestName``, and must stay inside the PRODUCT.yaml directory.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

_PRODUCT_DIR_PREFIX = re.compile(r"^v\d+\.\d+/[^/]+/")
# Go's RE2 \s is ASCII [\t\n\f\r ]; keep the same classes so the same lines match.
_E2E_RESULT = re.compile(r"^[\t\n\f\r ]*--- (PASS|FAIL|SKIP): ([^\t\n\f\r ]+)")
# Go's XML decoder refuses any declared encoding but UTF-8 (it is given no charset reader).
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")
_JUNK_AFTER_ROOT = 9  # expat's error code for content after the document element


class Outcome(Enum):
    UNKNOWN = "not found"
    PASS = "passed"
    FAIL = "failed"
    SKIP = "skipped"


class ArtifactError(ValueError):
    """A test artifact that cannot be read as its kind."""


@dataclass
class ArtifactReport:
    """The tests one junit.xml / results.json / e2e.log records."""

    tests: dict[str, Outcome] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def record(self, name: str, outcome: Outcome) -> None:
        # A fail is never downgraded; a later pass/skip replaces an earlier one.
        if self.tests.get(name) is Outcome.FAIL:
            return
        self.tests[name] = outcome
        if outcome is Outcome.FAIL:
            self.failures.append(name)

    def outcome_for(self, name: str) -> Outcome:
        """Exact match, else the subtests ``name/...``: any fail, all skipped, or pass."""
        if name in self.tests:
            return self.tests[name]
        subs = [o for n, o in self.tests.items() if n.startswith(name + "/")]
        if not subs:
            return Outcome.UNKNOWN
        if Outcome.FAIL in subs:
            return Outcome.FAIL
        if all(o is Outcome.SKIP for o in subs):
            return Outcome.SKIP
        return Outcome.PASS


ARTIFACT_KINDS = ("junit.xml", "results.json", "e2e.log")


def artifact_kind(path: str | Path) -> str | None:
    """The canonical artifact name (case-insensitive base name), or None for other files."""
    base = os.path.basename(str(path)).lower()
    return base if base in ARTIFACT_KINDS else None


def parse_artifact(path: Path, kind: str) -> ArtifactReport:
    data = path.read_bytes()
    if kind == "junit.xml":
        return parse_junit(data)
    text = data.decode("utf-8", errors="replace")
    if kind == "results.json":
        return parse_go_test_json(text)
    return parse_e2e_log(text)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _first_element(data: bytes) -> ET.Element:
    # Go's decoder stops at the end of the first element: whatever follows it is never read.
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        if exc.code != _JUNK_AFTER_ROOT:
            raise ArtifactError(f"parsing JUnit XML: {exc}") from exc
        line, column = exc.position
        lines = data.split(b"\n")
        cut = sum(len(x) + 1 for x in lines[: line - 1]) + column
        try:
            return ET.fromstring(data[:cut])
        except ET.ParseError as again:
            raise ArtifactError(f"parsing JUnit XML: {again}") from again


def parse_junit(data: bytes) -> ArtifactReport:
    """``<testsuites>`` or a bare ``<testsuite>`` root; nested suites walked."""
    m = _XML_ENCODING.match(data)
    if m and m.group(1).decode("ascii", "replace").lower() != "utf-8":
        enc = m.group(1).decode("ascii", "replace")
        raise ArtifactError(f"parsing JUnit XML: encoding {enc!r} declared; only UTF-8 is read")
    root = _first_element(data)
    report = ArtifactReport()

    def walk(node: ET.Element) -> None:
        for child in node:
            name = _local(child.tag)
            if name == "testcase":
                kids = {_local(k.tag) for k in child}
                if "failure" in kids or "error" in kids:
                    outcome = Outcome.FAIL
                elif "skipped" in kids:
                    outcome = Outcome.SKIP
                else:
                    outcome = Outcome.PASS
                report.record(child.get("name", ""), outcome)
        for child in node:
            if _local(child.tag) == "testsuite":
                walk(child)

    walk(root)
    if not report.tests:
        raise ArtifactError("parsing JUnit XML: no <testcase> elements found")
    return report


def _field(event: dict[str, Any], name: str) -> str:
    # encoding/json matches struct fields case-insensitively; do the same.
    for k, v in event.items():
        if k.lower() == name.lower():
            if v is None:
                return ""
            if not isinstance(v, str):
                raise ArtifactError(f"field {k} is not a string")
            return v
    return ""


def parse_go_test_json(text: str) -> ArtifactReport:
    """``go test -json`` events: Action pass/fail/skip of Test (or of the Package)."""
    report = ArtifactReport()
    package_failures: list[str] = []
    actions = {"pass": Outcome.PASS, "fail": Outcome.FAIL, "skip": Outcome.SKIP}
    for n, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
            if event is None:
                continue  # Go decodes a JSON null into an event as "no event"
            if not isinstance(event, dict):
                raise ArtifactError("not a JSON object")
            action, test, package = (_field(event, k) for k in ("Action", "Test", "Package"))
        except (ValueError, ArtifactError) as exc:
            raise ArtifactError(f"parsing go test JSON at line {n}: {exc}") from exc
        outcome = actions.get(action)
        if outcome is None:
            continue
        if not test:
            if outcome is Outcome.FAIL:
                package_failures.append(package)
            continue
        report.record(test, outcome)
    # A package failing with no failing test is a build failure or a panic: say so.
    if not report.failures:
        report.failures.extend(f"package {p}" for p in package_failures)
    if not report.tests and not report.failures:
        raise ArtifactError("parsing go test JSON: no test events found")
    return report


def parse_e2e_log(text: str) -> ArtifactReport:
    """``go test -v`` output: ``--- PASS|FAIL|SKIP: Name`` lines, indented subtests included."""
    report = ArtifactReport()
    outcomes = {"PASS": Outcome.PASS, "FAIL": Outcome.FAIL, "SKIP": Outcome.SKIP}
    for line in text.split("\n"):
        m = _E2E_RESULT.match(line.rstrip("\r"))
        if m:
            report.record(m.group(2), outcomes[m.group(1)])
    if not report.tests:
        raise ArtifactError("parsing e2e log: no '--- PASS/FAIL/SKIP:' result lines found")
    return report


# --- evidence links -----------------------------------------------------------------------


class EvidenceError(ValueError):
    """A local evidence link that does not resolve inside the product directory."""


@dataclass(frozen=True)
class EvidenceRef:
    path: Path
    fragment: str


def resolve_evidence(product_dir: Path, link: str) -> EvidenceRef:
    """A bare relative path or ``file://`` link, resolved inside ``product_dir``."""
    raw = link.strip().removeprefix("file://")
    raw, _, fragment = raw.partition("#")
    raw = raw.strip().removeprefix("/")
    if not raw:
        raise EvidenceError("empty file path")
    own = f"{product_dir.parent.name}/{product_dir.name}/"
    if raw.startswith(own):
        raw = raw[len(own) :]
    elif _PRODUCT_DIR_PREFIX.match(raw):
        raise EvidenceError(
            "points into another product's directory; evidence must live beside PRODUCT.yaml"
        )
    full = os.path.normpath(os.path.join(product_dir, raw))
    rel = os.path.relpath(full, product_dir)
    if rel in (".", "..") or rel.startswith(".." + os.sep):
        raise EvidenceError("escapes the PRODUCT.yaml directory")
    return EvidenceRef(Path(full), fragment)
