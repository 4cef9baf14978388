"""Validate a PRODUCT.yaml the way the CNCF submission repository's validator does, offline.

The rules follow ``cncf/k8s-ai-conformance`` ``scripts/validate.go`` (after its hybrid
verification change): metadata fields, the k8s-conformance link, every checklist requirement
present, status against level, N/A notes, local evidence files, and the test artifacts
(``junit.xml``, ``results.json``, ``e2e.log``) parsed the same way. Where we differ, it is to
say more, never less:

- the checklist comes from ``kubernetesVersion`` (upstream takes it from the ``vX.Y/``
  directory; a mismatch between the two is a warning);
- a YAML number or boolean in the metadata (``platformVersion: 1.0``), or ``evidence`` written
  as a single string, is a warning: upstream rejects both, but the meaning is clear;
- an edited ``level``/``description`` is an error (the submission instructions forbid it; the
  upstream script does not look); an id no checklist of that version has is a warning;
- an Implemented requirement with no evidence at all is a warning.

Not checked: CNCF membership of ``vendorName`` (needs the CNCF landscape, which is online data).
URLs are only fetched with ``online=True``.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import yaml

from harness import catalog
from harness.results import Status

Level = Literal["error", "warning"]

#: (camelCase, snake_case, required), in upstream metadata order.
METADATA_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("kubernetesVersion", "kubernetes_version", True),
    ("platformName", "platform_name", True),
    ("platformVersion", "platform_version", True),
    ("vendorName", "vendor_name", True),
    ("websiteUrl", "website_url", True),
    ("repoUrl", "repo_url", False),
    ("documentationUrl", "documentation_url", True),
    ("productLogoUrl", "product_logo_url", True),
    ("description", "description", True),
    ("contactEmailAddress", "contact_email_address", True),
    ("k8sConformanceUrl", "k8s_conformance_url", True),
)

STATUSES = tuple(s.value for s in Status)  # the four values upstream accepts

#: Requirement id -> the upstream Go test that proves it (checked from v1.37 on).
AUTO_TESTED: dict[str, str] = {
    "secure_accelerator_access": "TestSecureAcceleratorAccess",
    "gang_scheduling": "TestGangScheduling",
    "cluster_autoscaling": "TestAcceleratorClusterAutoscaling",
}

#: MUST requirements whose condition may not apply, so N/A (with notes) is allowed.
CONDITIONAL_MUST = frozenset({"cluster_autoscaling"})

HYBRID_MIN_MINOR = 37

K8S_CONFORMANCE_URL = re.compile(
    r"^https://github\.com/cncf/k8s-conformance/tree/(master|main)/v\d+\.\d+/[^/]+/?$"
)
_PRODUCT_DIR_PREFIX = re.compile(r"^v\d+\.\d+/[^/]+/")
_PATH_VERSION = re.compile(r"(?:^|/)(v\d+\.\d+)/")
# Go's RE2 \s is ASCII [\t\n\f\r ]; keep the same classes so the same lines match.
_E2E_RESULT = re.compile(r"^[\t\n\f\r ]*--- (PASS|FAIL|SKIP): ([^\t\n\f\r ]+)")

URL_TIMEOUT_S = 10.0
USER_AGENT = "harness-validate/1.0 (Kubernetes AI Conformance lab harness)"


@dataclass(frozen=True)
class Finding:
    level: Level
    subject: str  # requirement id, metadata field, spec category, or "file"
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.subject}: {' '.join(self.message.split())}"


def exit_code(findings: Iterable[Finding]) -> int:
    """1 when any finding is an error, else 0."""
    return 1 if any(f.level == "error" for f in findings) else 0


# --- YAML loading -------------------------------------------------------------------------


class YamlScalar(str):
    """A plain scalar YAML would type (number, bool, date), kept as written (``1.10`` stays
    ``1.10``), so the validator can tell ``1.0`` from ``"1.0"``."""

    tag: str = ""


class _Loader(yaml.SafeLoader):
    pass


def _literal(loader: yaml.SafeLoader, node: yaml.Node) -> YamlScalar:
    assert isinstance(node, yaml.ScalarNode)
    s = YamlScalar(node.value)
    s.tag = node.tag.rsplit(":", 1)[-1]
    return s


def _mapping(loader: yaml.SafeLoader, node: yaml.Node) -> dict[Any, Any]:
    # Go's yaml.v3 (upstream) refuses duplicate keys; PyYAML would silently keep the last.
    assert isinstance(node, yaml.MappingNode)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        seen.add(key)
    loader.flatten_mapping(node)
    return dict(loader.construct_pairs(node, deep=True))


for _tag in ("int", "float", "bool", "timestamp"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _literal)
_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)


def _load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"malformed YAML{where}: {problem}"


# --- test artifacts -----------------------------------------------------------------------


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


def parse_junit(data: bytes) -> ArtifactReport:
    """``<testsuites>`` or a bare ``<testsuite>`` root; nested suites walked."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ArtifactError(f"parsing JUnit XML: {exc}") from exc
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


# --- online checks ------------------------------------------------------------------------


def check_url(url: str, timeout: float = URL_TIMEOUT_S) -> str | None:
    """HEAD, then GET; None when a status below 400 came back, else why not."""
    problem = ""
    for method in ("HEAD", "GET"):
        req = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) only
                if int(resp.status) < 400:
                    return None
                problem = f"status {resp.status}"
        except urllib.error.HTTPError as exc:
            if exc.code < 400:
                return None
            problem = f"status {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            problem = str(getattr(exc, "reason", exc))
    return problem


# --- the validator ------------------------------------------------------------------------


@dataclass
class _Context:
    path: Path
    findings: list[Finding] = field(default_factory=list)
    urls: list[tuple[str, str, str]] = field(default_factory=list)  # subject, url, what
    artifacts: dict[Path, ArtifactReport | None] = field(default_factory=dict)

    def error(self, subject: str, message: str) -> None:
        self.findings.append(Finding("error", subject, message))

    def warning(self, subject: str, message: str) -> None:
        self.findings.append(Finding("warning", subject, message))


def validate_file(path: Path, online: bool = False) -> list[Finding]:
    """Every finding about one PRODUCT.yaml, in file order (metadata, then spec)."""
    ctx = _Context(path=Path(path))
    try:
        text = ctx.path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Finding("error", "file", f"cannot read {path}: {exc}")]
    try:
        doc = _load_yaml(text)
    except yaml.YAMLError as exc:
        return [Finding("error", "file", _yaml_error(exc))]
    if not isinstance(doc, dict):
        return [
            Finding(
                "error",
                "file",
                "not a PRODUCT.yaml: the top level must be a mapping with metadata and spec",
            )
        ]

    metadata = doc.get("metadata")
    version = None
    if not isinstance(metadata, dict):
        ctx.error(
            "metadata",
            "missing 'metadata' section" if metadata is None else "'metadata' must be a mapping",
        )
    else:
        _check_metadata(ctx, metadata)
        version = _checklist_version(ctx, metadata)

    spec = doc.get("spec")
    if not isinstance(spec, dict):
        ctx.error(
            "spec",
            "missing 'spec' section" if spec is None else "'spec' must be a mapping of categories",
        )
    elif version is not None:
        _check_spec(ctx, spec, catalog.load(version))

    if online and ctx.urls:
        _check_urls(ctx)
    return ctx.findings


def _meta_value(metadata: dict[Any, Any], camel: str, snake: str) -> tuple[bool, Any]:
    for key in (camel, snake):
        if key in metadata and metadata[key] is not None:
            return True, metadata[key]
    return False, None


def _check_metadata(ctx: _Context, metadata: dict[Any, Any]) -> None:
    for camel, snake, required in METADATA_FIELDS:
        present, value = _meta_value(metadata, camel, snake)
        if not present:
            if required:
                ctx.error(camel, f"missing metadata field ({camel} or {snake})")
            continue
        if isinstance(value, YamlScalar):
            ctx.warning(
                camel,
                f"'{value}' is a YAML {value.tag}, not a string; "
                "the CNCF validator rejects it, quote it",
            )
        elif not isinstance(value, str):
            ctx.error(camel, "must be a string")
            continue
        text = str(value).strip()
        if not text:
            if required:
                ctx.error(camel, "is empty")
        elif text.startswith("[") and text.endswith("]"):
            ctx.error(camel, f"placeholder value {text}")
        elif camel == "k8sConformanceUrl":
            if not K8S_CONFORMANCE_URL.match(text):
                ctx.error(
                    camel,
                    f"'{text}' is not of the form "
                    "https://github.com/cncf/k8s-conformance/tree/main/vX.Y/<product>",
                )
            else:
                ctx.urls.append((camel, text, "k8sConformanceUrl"))
        elif text.startswith("http"):
            ctx.urls.append((camel, text, "metadata URL"))


def _checklist_version(ctx: _Context, metadata: dict[Any, Any]) -> str | None:
    """The checklist to validate against: from kubernetesVersion, else the vX.Y/ directory."""
    m = _PATH_VERSION.search(ctx.path.resolve().as_posix())
    dir_version = m.group(1) if m else None
    present, value = _meta_value(metadata, "kubernetesVersion", "kubernetes_version")
    text = str(value).strip() if present else ""
    if not text or (text.startswith("[") and text.endswith("]")):
        if dir_version in catalog.versions():
            return dir_version
        ctx.error(
            "kubernetesVersion",
            "cannot choose a checklist: no kubernetesVersion and no vX.Y/ directory",
        )
        return None
    known = ", ".join(catalog.versions())
    try:
        version = catalog.normalize_version(text)
    except catalog.UnknownChecklistError:
        ctx.error("kubernetesVersion", f"'{text}' names no checklist version (known: {known})")
        return None
    if version not in catalog.versions():
        ctx.error("kubernetesVersion", f"no checklist for {version} (known: {known})")
        return None
    if dir_version and dir_version != version and dir_version in catalog.versions():
        ctx.warning(
            "kubernetesVersion",
            f"file is under {dir_version}/ but declares {text}; the CNCF validator uses the "
            f"directory's checklist, this one uses {version}",
        )
    return version


def _minor(version: str) -> int:
    return int(version.split(".")[1])


def _check_spec(ctx: _Context, spec: dict[Any, Any], checklist: catalog.Checklist) -> None:
    hybrid = _minor(checklist.version) >= HYBRID_MIN_MINOR
    expected = checklist.by_category()
    # Where each id sits in the file, to say "found under X" for misplaced ones.
    located: dict[str, str] = {}
    entries: dict[str, dict[str, dict[Any, Any]]] = {}
    broken: set[str] = set()  # categories already reported as unreadable
    for category, items in spec.items():
        cat = str(category)
        entries[cat] = {}
        if items is None:
            continue
        if not isinstance(items, list):
            ctx.error(cat, "must be a list of requirements")
            broken.add(cat)
            continue
        for item in items:
            if not isinstance(item, dict) or item.get("id") in (None, ""):
                ctx.error(
                    cat, "an entry without an id (each entry needs id, status, evidence, notes)"
                )
                continue
            rid = str(item["id"])
            if rid in entries[cat]:
                ctx.warning(
                    rid, f"listed twice under '{cat}'; the CNCF validator uses the last one"
                )
            entries[cat][rid] = item
            located.setdefault(rid, cat)

    for cat, reqs in expected.items():
        if cat not in spec:
            ctx.error(cat, f"missing spec category (holds {', '.join(r.id for r in reqs)})")
            continue
        if cat in broken:
            continue
        for req in reqs:
            item = entries[cat].get(req.id)
            if item is None:
                where = located.get(req.id)
                hint = f" (found under '{where}')" if where else ""
                ctx.error(req.id, f"missing requirement in category '{cat}'{hint}")
                continue
            _check_requirement(ctx, req, item, hybrid)

    for cat, items_by_id in entries.items():
        if cat not in expected:
            ctx.warning(
                cat,
                f"not a category of checklist {checklist.version}; the CNCF validator ignores it",
            )
            continue
        for rid in items_by_id:
            if checklist.get(rid) is None:
                other = catalog.versions_with(rid)
                why = f"it belongs to {', '.join(other)}" if other else "no checklist defines it"
                ctx.warning(
                    rid,
                    f"not in checklist {checklist.version} ({why}); the CNCF validator ignores it",
                )


def _evidence_list(ctx: _Context, rid: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        ctx.warning(rid, "evidence is a single string; the CNCF validator expects a list")
        return [] if value.strip() in ("", "N/A") else [value]
    if not isinstance(value, list):
        ctx.error(rid, "evidence must be a list of links")
        return []
    out: list[str] = []
    for e in value:
        if e is None:
            out.append("")
        elif isinstance(e, str):
            out.append(e)
        else:
            ctx.error(rid, "evidence entries must be strings (a link or a relative path)")
    return out


def _text(ctx: _Context, rid: str, item: dict[Any, Any], key: str) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    ctx.error(rid, f"{key} must be a string")
    return ""


def _check_requirement(
    ctx: _Context, req: catalog.Requirement, item: dict[Any, Any], hybrid: bool
) -> None:
    rid = req.id
    level = _text(ctx, rid, item, "level").strip()
    if not level:
        ctx.warning(rid, f"level is missing (checklist: {req.level})")
    elif level != req.level:
        ctx.error(
            rid,
            f"level is '{level}' but the checklist says {req.level}; "
            "id/description/level must not be edited",
        )
    description = _text(ctx, rid, item, "description")
    if not description.strip():
        ctx.warning(rid, "description is missing (copy it from the checklist)")
    elif " ".join(description.split()) != " ".join(req.description.split()):
        ctx.error(
            rid, "description differs from the checklist; id/description/level must not be edited"
        )

    status = _text(ctx, rid, item, "status")
    notes = _text(ctx, rid, item, "notes")
    evidence = _evidence_list(ctx, rid, item.get("evidence"))
    if req.level == "SHOULD" and status == "" and not evidence:
        return  # a SHOULD left blank is allowed

    if status not in STATUSES:
        ctx.error(rid, f"status '{status}' is not one of {', '.join(STATUSES)}")
    if req.level == "MUST" and status != "Implemented":
        if status == "N/A" and rid in CONDITIONAL_MUST:
            ctx.warning(
                rid, "MUST requirement marked N/A; a reviewer will check the justification in notes"
            )
        elif rid in CONDITIONAL_MUST:
            ctx.error(
                rid, f"MUST requirement is '{status}' (must be Implemented, or N/A with notes)"
            )
        else:
            ctx.error(rid, f"MUST requirement is '{status}' (must be Implemented)")
    if status == "N/A" and not notes.strip():
        ctx.error(rid, "N/A needs notes saying why")

    has_artifact = False
    for link in evidence:
        if link == "":
            continue
        if link.startswith(("http://", "https://")):
            ctx.urls.append((rid, link, "evidence URL"))
            continue
        try:
            ref = resolve_evidence(ctx.path.resolve().parent, link)
        except EvidenceError as exc:
            ctx.error(rid, f"evidence '{link}': {exc}")
            continue
        if not ref.path.exists():
            rel = os.path.relpath(ref.path, ctx.path.resolve().parent)
            ctx.error(rid, f"evidence file '{link}' not found ({rel} beside PRODUCT.yaml)")
            continue
        kind = artifact_kind(ref.path)
        if kind is None:
            continue
        has_artifact = True
        _check_artifact(ctx, rid, status, link, ref, kind)

    if hybrid and status == "Implemented" and rid in AUTO_TESTED and not has_artifact:
        ctx.warning(
            rid,
            f"covered by the upstream test {AUTO_TESTED[rid]}; link its junit.xml, results.json "
            "or e2e.log as evidence (recommended from v1.37)",
        )
    if status == "Implemented" and not any(e.strip() for e in evidence):
        ctx.warning(rid, "Implemented but no evidence is linked")


def _check_artifact(
    ctx: _Context, rid: str, status: str, link: str, ref: EvidenceRef, kind: str
) -> None:
    name = link.split("#", 1)[0]
    if ref.path not in ctx.artifacts:
        try:
            report: ArtifactReport | None = parse_artifact(ref.path, kind)
        except (ArtifactError, OSError) as exc:
            ctx.error(rid, f"test artifact {name} cannot be read: {exc}")
            report = None
        ctx.artifacts[ref.path] = report
        if report is not None and report.failures:
            # Reported once per artifact, whichever requirement links it first.
            ctx.error(
                rid,
                f"test artifact {name} contains failing tests: "
                + ", ".join(sorted(report.failures)),
            )
    report = ctx.artifacts[ref.path]
    if report is None:
        return
    test = ref.fragment or AUTO_TESTED.get(rid, "")
    if not test:
        return
    outcome = report.outcome_for(test)
    if outcome is Outcome.UNKNOWN:
        ctx.error(rid, f"test {test} not found in {name}")
    elif outcome is Outcome.FAIL:
        ctx.error(rid, f"test {test} failed in {name}")
    elif outcome is Outcome.SKIP and status == "Implemented":
        ctx.error(rid, f"Implemented but test {test} was skipped in {name}")


def _check_urls(ctx: _Context) -> None:
    # Same URL, same answer: ask once, report per place it is used.
    unique = list(dict.fromkeys(url for _, url, _ in ctx.urls))
    with ThreadPoolExecutor(max_workers=min(8, len(unique))) as pool:
        answers = dict(zip(unique, pool.map(check_url, unique)))
    for subject, url, what in ctx.urls:
        problem = answers[url]
        if problem is not None:
            ctx.error(subject, f"{what} {url} does not answer ({problem})")


def iter_lines(findings: Iterable[Finding]) -> Iterator[str]:
    """One line per finding, errors first, for the CLI."""
    ordered = sorted(findings, key=lambda f: 0 if f.level == "error" else 1)
    for f in ordered:
        yield str(f)
