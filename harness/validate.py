"""Validate a PRODUCT.yaml as the CNCF submission repository's validator does, offline.

The rule: an error exactly where ``cncf/k8s-ai-conformance`` ``scripts/validate.go`` (with its
v1.37 test-artifact checks) fails a file, and a warning where it passes a file but a reviewer
would care. docs/validate.md maps each upstream failure to the finding that reports it here.

What upstream does and this module therefore does too:

- the checklist is chosen by the ``vX.Y/`` directory the file sits in, and each requirement's
  level is read from the checklist, never from the file: an edited ``description`` or a
  relabelled ``level`` is a warning naming the field, and the checklist's level decides;
- the file is decoded into typed fields (:mod:`harness.validate_decode`): a wrong shape where a
  field is decoded, a YAML number or boolean in the metadata, or ``evidence`` given as one
  string fails it;
- test artifacts are parsed as upstream parses them (:mod:`harness.validate_artifacts`).

Two deliberate differences, both listed in docs/validate.md: a file outside a ``vX.Y/``
directory (which upstream refuses) is checked against its ``kubernetesVersion`` with a warning,
and the online checks (URLs, CNCF membership of ``vendorName``) run only with ``online=True``.
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from harness import catalog
from harness.results import Status
from harness.validate_artifacts import (
    ARTIFACT_KINDS,
    ArtifactError,
    ArtifactReport,
    EvidenceError,
    EvidenceRef,
    Outcome,
    artifact_kind,
    parse_artifact,
    parse_e2e_log,
    parse_go_test_json,
    parse_junit,
    resolve_evidence,
)
from harness.validate_decode import Entry, YamlScalar, decode_product

__all__ = [
    "ARTIFACT_KINDS",
    "ArtifactError",
    "ArtifactReport",
    "EvidenceError",
    "EvidenceRef",
    "Finding",
    "Outcome",
    "YamlScalar",
    "artifact_kind",
    "check_url",
    "exit_code",
    "iter_lines",
    "parse_artifact",
    "parse_e2e_log",
    "parse_go_test_json",
    "parse_junit",
    "resolve_evidence",
    "validate_file",
]

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
_VERSION_DIR = re.compile(r"^v\d+\.\d+$")

URL_TIMEOUT_S = 10.0
USER_AGENT = "harness-validate/1.0 (Kubernetes AI Conformance lab harness)"
LANDSCAPE_URL = "https://raw.githubusercontent.com/cncf/landscape/master/landscape.yml"
LANDSCAPE_TIMEOUT_S = 60.0


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


def iter_lines(findings: Iterable[Finding]) -> Iterator[str]:
    """One line per finding, errors first, for the CLI."""
    ordered = sorted(findings, key=lambda f: 0 if f.level == "error" else 1)
    for f in ordered:
        yield str(f)


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


def cncf_members(text: str) -> set[str]:
    """Member names in the CNCF landscape.yml, without their "(member)"/"(supporter)" suffix."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    for category in (doc or {}).get("landscape") or []:
        if isinstance(category, dict) and category.get("name") == "CNCF Members":
            names = {
                str(item.get("name", "")).removesuffix(" (member)").removesuffix(" (supporter)")
                for sub in category.get("subcategories") or []
                for item in (sub or {}).get("items") or []
                if isinstance(item, dict)
            }
            return {n.strip() for n in names if n.strip()}
    raise ValueError("no 'CNCF Members' category in the landscape")


def fetch_cncf_members() -> set[str]:
    """The CNCF member names, from the landscape upstream reads. Raises OSError or ValueError."""
    req = urllib.request.Request(LANDSCAPE_URL, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(req, timeout=LANDSCAPE_TIMEOUT_S) as resp:  # noqa: S310
        return cncf_members(resp.read().decode("utf-8"))


# --- the validator ------------------------------------------------------------------------


@dataclass
class _Context:
    path: Path
    findings: list[Finding] = field(default_factory=list)
    urls: list[tuple[str, str, str]] = field(default_factory=list)  # subject, url, what
    artifacts: dict[Path, ArtifactReport | None] = field(default_factory=dict)

    @property
    def product_dir(self) -> Path:
        return Path(os.path.abspath(self.path)).parent

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
        doc = decode_product(text)
    except yaml.YAMLError as exc:
        return [Finding("error", "file", _yaml_error(exc))]
    for subject, message in doc.problems:
        ctx.error(subject, message)
    if "file" in doc.broken:
        return ctx.findings  # not a mapping at the top: nothing else to read

    version = None
    if doc.metadata is not None:
        _check_metadata(ctx, doc.metadata)
    elif "metadata" not in doc.broken:
        ctx.error("metadata", "missing 'metadata' section")
    version = _checklist_version(ctx, doc.metadata or {})

    if doc.spec is not None:
        if version is not None:
            _check_spec(ctx, doc.spec, doc.broken, catalog.load(version))
    elif "spec" not in doc.broken:
        ctx.error("spec", "missing 'spec' section")

    if online:
        _check_online(ctx, doc.metadata)
    return ctx.findings


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"malformed YAML{where}: {problem}"


def _meta_value(metadata: dict[str, Any], camel: str, snake: str) -> Any:
    # The camelCase key, when present (even null), is the one read; else the snake_case one.
    return metadata[camel] if camel in metadata else metadata.get(snake)


def _check_metadata(ctx: _Context, metadata: dict[str, Any]) -> None:
    for camel, snake, required in METADATA_FIELDS:
        value = _meta_value(metadata, camel, snake)
        if value is None:
            if required:
                ctx.error(camel, f"missing metadata field ({camel} or {snake})")
        elif isinstance(value, YamlScalar):
            ctx.error(camel, f"'{value}' is a YAML {value.tag}, not a string; quote it")
        elif not isinstance(value, str):
            kind = "a list" if isinstance(value, list) else "a mapping"
            ctx.error(camel, f"is {kind}; it must be a string")
        else:
            _check_meta_text(ctx, camel, value, required)


def _check_meta_text(ctx: _Context, camel: str, text: str, required: bool) -> None:
    # Upstream tests the value as written: "" is empty, "[...]" a placeholder; no trimming.
    if text == "":
        if required:
            ctx.error(camel, "is empty")
        return
    if text.startswith("[") and text.endswith("]"):
        ctx.error(camel, f"placeholder value {text}")
        return
    stripped = text.strip()
    if not stripped:
        ctx.warning(camel, "is only whitespace (the CNCF validator accepts it; a reviewer will not)")
    elif stripped.startswith("[") and stripped.endswith("]"):
        ctx.warning(camel, f"looks like the placeholder {stripped}")
    if camel == "k8sConformanceUrl":
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


def _directory_version(path: Path) -> str | None:
    """The ``vX.Y`` directory the file sits in (the nearest one), as upstream reads its path."""
    for part in reversed(Path(os.path.abspath(path)).parent.parts):
        if _VERSION_DIR.match(part):
            return part
    return None


def _checklist_version(ctx: _Context, metadata: dict[str, Any]) -> str | None:
    """The checklist: the ``vX.Y/`` directory's (upstream), else kubernetesVersion's."""
    known = ", ".join(catalog.versions())
    declared_text = _meta_value(metadata, "kubernetesVersion", "kubernetes_version")
    text = declared_text.strip() if isinstance(declared_text, str) else ""
    declared = None
    if text and not (text.startswith("[") and text.endswith("]")):
        try:
            declared = catalog.normalize_version(text)
        except catalog.UnknownChecklistError:
            declared = None
    dir_version = _directory_version(ctx.path)
    if dir_version is not None:
        if dir_version not in catalog.versions():
            ctx.error("file", f"is under {dir_version}/, a version with no checklist (known: {known})")
            return None
        if text and declared is None:
            ctx.warning(
                "kubernetesVersion",
                f"'{text}' names no checklist version; the file's {dir_version}/ directory decides",
            )
        elif declared is not None and declared != dir_version:
            ctx.warning(
                "kubernetesVersion",
                f"declares {text} but the file is under {dir_version}/; the directory's checklist "
                f"({dir_version}) decides, as in the CNCF repository",
            )
        return dir_version
    if declared in catalog.versions():
        ctx.warning(
            "file",
            f"not under a vX.Y/ directory, where the CNCF repository keeps it and takes the "
            f"checklist from; checked against {declared}, from kubernetesVersion",
        )
        return declared
    why = f"'{text}' names no checklist (known: {known})" if text else "no kubernetesVersion"
    ctx.error("file", f"cannot choose a checklist: not under a vX.Y/ directory and {why}")
    return None


def _check_spec(
    ctx: _Context, spec: dict[str, list[Entry]], broken: set[str], checklist: catalog.Checklist
) -> None:
    hybrid = int(checklist.version.split(".")[1]) >= HYBRID_MIN_MINOR
    expected = checklist.by_category()
    located: dict[str, str] = {}  # where each id sits, to say "found under X" for a misplaced one
    entries: dict[str, dict[str, Entry]] = {}
    for cat, items in spec.items():
        entries[cat] = {}
        for e in items:
            if not e.id:
                what = "an empty entry" if e.blank else "an entry without an id"
                ctx.warning(cat, f"{what} (number {e.position}); the CNCF validator skips it")
                continue
            if e.id in entries[cat]:
                ctx.warning(e.id, f"listed twice under '{cat}'; the CNCF validator uses the last one")
            entries[cat][e.id] = e
            located.setdefault(e.id, cat)

    for cat, reqs in expected.items():
        if cat not in spec:
            ctx.error(cat, f"missing spec category (holds {', '.join(r.id for r in reqs)})")
            continue
        if cat in broken:
            continue  # already an error: its entries could not be read
        for req in reqs:
            entry = entries[cat].get(req.id)
            if entry is None:
                where = located.get(req.id)
                hint = f" (found under '{where}')" if where else ""
                ctx.error(req.id, f"missing requirement in category '{cat}'{hint}")
            elif req.id not in broken:  # a field that could not be read is error enough
                _check_requirement(ctx, req, entry, hybrid)

    for cat, by_id in entries.items():
        if cat not in expected:
            ctx.warning(
                cat, f"not a category of checklist {checklist.version}; the CNCF validator ignores it"
            )
            continue
        for rid in by_id:
            if checklist.get(rid) is None:
                other = catalog.versions_with(rid)
                why = f"it belongs to {', '.join(other)}" if other else "no checklist defines it"
                ctx.warning(
                    rid,
                    f"not in checklist {checklist.version} ({why}); the CNCF validator ignores it",
                )


def _check_as_written(ctx: _Context, req: catalog.Requirement, e: Entry) -> None:
    """The copied id/description/level: warnings only, since upstream reads the checklist's."""
    level = e.level.strip()
    if not level:
        ctx.warning(req.id, f"level is missing (the checklist says {req.level})")
    elif level != req.level:
        ctx.warning(
            req.id,
            f"level is '{level}' but the checklist says {req.level}, and the checklist's level "
            "decides; do not edit it",
        )
    if not e.description.strip():
        ctx.warning(req.id, "description is missing (copy it from the checklist)")
    elif " ".join(e.description.split()) != " ".join(req.description.split()):
        ctx.warning(req.id, "description differs from the checklist's; do not edit it")


def _check_status(ctx: _Context, req: catalog.Requirement, status: str, notes: str) -> None:
    rid = req.id
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


def _check_requirement(ctx: _Context, req: catalog.Requirement, e: Entry, hybrid: bool) -> None:
    rid = req.id
    _check_as_written(ctx, req, e)
    if req.level == "SHOULD" and e.status == "" and not e.evidence:
        return  # a SHOULD left blank is allowed
    _check_status(ctx, req, e.status, e.notes)

    has_artifact = False
    for link in e.evidence:
        if link == "":
            continue
        if link.startswith(("http://", "https://")):
            ctx.urls.append((rid, link, "evidence URL"))
            continue
        try:
            ref = resolve_evidence(ctx.product_dir, link)
        except EvidenceError as exc:
            ctx.error(rid, f"evidence '{link}': {exc}")
            continue
        if not ref.path.exists():
            rel = os.path.relpath(ref.path, ctx.product_dir)
            ctx.error(rid, f"evidence file '{link}' not found ({rel} beside PRODUCT.yaml)")
            continue
        kind = artifact_kind(ref.path)
        if kind is None:
            continue
        has_artifact = True
        _check_artifact(ctx, rid, e.status, link, ref, kind)

    if hybrid and e.status == "Implemented" and rid in AUTO_TESTED and not has_artifact:
        ctx.warning(
            rid,
            f"covered by the upstream test {AUTO_TESTED[rid]}; link its junit.xml, results.json "
            "or e2e.log as evidence (recommended from v1.37)",
        )
    if e.status == "Implemented" and not any(x.strip() for x in e.evidence):
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


def _check_online(ctx: _Context, metadata: dict[str, Any] | None) -> None:
    if ctx.urls:
        # Same URL, same answer: ask once, report per place it is used.
        unique = list(dict.fromkeys(url for _, url, _ in ctx.urls))
        with ThreadPoolExecutor(max_workers=min(8, len(unique))) as pool:
            answers = dict(zip(unique, pool.map(check_url, unique)))
        for subject, url, what in ctx.urls:
            problem = answers[url]
            if problem is not None:
                ctx.error(subject, f"{what} {url} does not answer ({problem})")
    vendor = _vendor_name(metadata or {})
    if not vendor:
        return
    try:
        members = fetch_cncf_members()
    except (OSError, ValueError, yaml.YAMLError) as exc:
        ctx.error("vendorName", f"cannot check CNCF membership: the landscape did not load ({exc})")
        return
    if vendor not in members:
        ctx.error(
            "vendorName",
            f"'{vendor}' is not a CNCF member as the landscape names it "
            "(https://landscape.cncf.io/members); the name must match exactly",
        )


def _vendor_name(metadata: dict[str, Any]) -> str:
    # Upstream takes vendorName when the key is there at all, else vendor_name; text only.
    value = metadata["vendorName"] if "vendorName" in metadata else metadata.get("vendor_name")
    return value.strip() if isinstance(value, str) and not isinstance(value, YamlScalar) else ""
