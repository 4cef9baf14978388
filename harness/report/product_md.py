"""PRODUCT.yaml → PRODUCT.md, as the CNCF submission repository renders it.

The output must match the upstream renderer byte for byte (see
``shared/design/report-format.md``), for our files and for any vendor's: evidence may be one
string, ``N/A`` or empty, keys may be missing or unknown, the version may be old. Scalars are
shown as written in the YAML, so documents are loaded with :func:`load_product_yaml`, which
keeps numbers, booleans and dates as their source text (``platformVersion: 1.10`` → ``1.10``).
"""

from __future__ import annotations

from typing import Any

import yaml

from harness.catalog import CATEGORIES, title

_STATUS_ICONS = {
    "implemented": "✅",
    "not implemented": "❌",
    "partially implemented": "🟡",
    "n/a": "⚪",
}
#: anchors of the category headings, used by the checklist (template) rendering
_ANCHORS = {
    "accelerators": "accelerators",
    "networking": "networking",
    "schedulingOrchestration": "scheduling--orchestration",
    "observability": "observability",
    "security": "security",
    "operator": "operator-support",
}
_KEEP_AS_TEXT = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
}


class _TextScalarLoader(yaml.SafeLoader):
    """SafeLoader that resolves plain scalars only to str or null."""


_TextScalarLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _KEEP_AS_TEXT]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_product_yaml(text: str) -> dict[str, Any]:
    """Parse a PRODUCT.yaml keeping scalars as their source text.

    Raises ValueError, with a one-line cause, on malformed YAML or a document that is not a mapping."""
    try:
        doc = yaml.load(text, Loader=_TextScalarLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ValueError(f"malformed YAML{where}: {problem}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ValueError(f"PRODUCT.yaml must be a mapping at the top, got {type(doc).__name__}")
    return doc


def render_product_md(doc: dict[str, Any]) -> str:
    """The published report for one parsed PRODUCT.yaml (a checklist template renders as one)."""
    meta = _mapping(doc.get("metadata"))
    spec = _mapping(doc.get("spec"))
    cats = [(key, [_requirement(r) for r in _items(spec.get(key))]) for key in CATEGORIES]
    if _placeholder(_text(meta.get("platformName"))):
        return _render_template(meta, cats)
    return _render_product(meta, cats)


# ---------------------------------------------------------------------------------------------
# decoding: what the upstream (Go, yaml.v3) decoder makes of each field


def _text(v: Any) -> str:
    """A scalar decoded into a Go string: null → "", anything else its text."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return ""
    return str(v)


def _mapping(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _items(v: Any) -> list[dict[str, Any]]:
    return [i for i in v if isinstance(i, dict)] if isinstance(v, list) else []


def _evidence(v: Any) -> list[str]:
    # one string stands for a one-item list, except "" and "N/A" which mean none
    if isinstance(v, list):
        return [_text(e) for e in v]
    s = _text(v)
    return [s] if s not in ("", "N/A") else []


def _requirement(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _text(r.get("id")),
        "description": _text(r.get("description")),
        "level": _text(r.get("level")),
        "status": _text(r.get("status")),
        "evidence": _evidence(r.get("evidence")),
        "notes": _text(r.get("notes")),
    }


def _placeholder(s: str) -> bool:
    return s.startswith("[") and s.endswith("]")


def _link_text(link: str) -> str:
    shown = link.removeprefix("https://").removeprefix("http://")
    raw = shown.encode("utf-8")
    # the upstream renderer measures and cuts in bytes
    if len(raw) > 60:
        return raw[:57].decode("utf-8", errors="ignore") + "..."
    return shown


def _icon(status: str) -> str:
    return _STATUS_ICONS.get(status.lower(), "⬜")


# ---------------------------------------------------------------------------------------------
# a product submission


def _render_product(meta: dict[str, Any], cats: list[tuple[str, list[dict[str, Any]]]]) -> str:
    m = {k: _text(v) for k, v in meta.items() if isinstance(k, str)}
    name = m.get("platformName", "")
    out = [f"# {name} — AI Conformance Report\n\n", "## Platform Information\n\n", "| | |\n", "|:--|:--|\n"]
    out.append(f"| **Vendor** | {m.get('vendorName', '')} |\n")
    out.append(f"| **Platform** | {name} |\n")
    out.append(f"| **Platform Version** | {m.get('platformVersion', '')} |\n")
    out.append(f"| **Kubernetes Version** | {m.get('kubernetesVersion', '')} |\n")
    site, docs, desc = m.get("websiteUrl", ""), m.get("documentationUrl", ""), m.get("description", "")
    if site and not _placeholder(site):
        out.append(f"| **Website** | [{site}]({site}) |\n")
    if docs and not _placeholder(docs):
        out.append(f"| **Documentation** | [Link]({docs}) |\n")
    out.append("\n")
    if desc and not _placeholder(desc):
        out.append(f"> {desc}\n\n")

    counts = {s: 0 for s in _STATUS_ICONS}
    for _, reqs in cats:
        for r in reqs:
            if r["status"].lower() in counts:
                counts[r["status"].lower()] += 1
    out += ["---\n\n", "## Compliance Summary\n\n", "| Status | Count |\n", "|:-------|:-----:|\n"]
    out.append(f"| ✅ Implemented | {counts['implemented']} |\n")
    for key, label in (
        ("partially implemented", "🟡 Partially Implemented"),
        ("not implemented", "❌ Not Implemented"),
        ("n/a", "⚪ N/A"),
    ):
        if counts[key] > 0:
            out.append(f"| {label} | {counts[key]} |\n")
    out.append(f"| **Total** | **{sum(counts.values())}** |\n\n")

    out += [
        "### Requirements at a Glance\n\n",
        "| Category | Requirement | Level | Status |\n",
        "|:---------|:------------|:-----:|:------:|\n",
    ]
    for key, reqs in cats:
        for r in reqs:
            level = "SHOULD" if r["level"] == "SHOULD" else "MUST"
            out.append(f"| {CATEGORIES[key][0]} | {title(r['id'])} | {level} | {_icon(r['status'])} |\n")
    out += ["\n", "---\n\n", "## Detailed Requirements\n\n"]

    for key, reqs in cats:
        if not reqs:
            continue
        cat_title, cat_icon = CATEGORIES[key]
        out.append(f"### {cat_icon} {cat_title}\n\n")
        for r in reqs:
            badge = "🟡 SHOULD" if r["level"] == "SHOULD" else "🔴 MUST"
            out.append(f"#### {_icon(r['status'])} {title(r['id'])}\n\n")
            out.append(f"**Level:** {badge} | **Status:** {r['status']}\n\n")
            out.append(f"> {r['description']}\n\n")
            evidence = [e for e in r["evidence"] if e]
            if evidence:
                out.append("**Evidence:**\n\n")
                out += [f"- [{_link_text(e)}]({e})\n" for e in evidence]
                out.append("\n")
            if r["notes"]:
                out.append(f"**Notes:**\n\n> {r['notes']}\n\n")
    out += ["---\n\n", "*Generated from PRODUCT.yaml*\n"]
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# a checklist template (platformName still a "[...]" placeholder)


def _count(reqs: list[dict[str, Any]]) -> tuple[int, int]:
    must = sum(1 for r in reqs if r["level"] == "MUST")
    return must, len(reqs) - must


def _count_text(must: int, should: int) -> str:
    parts = ([f"{must} MUST"] if must else []) + ([f"{should} SHOULD"] if should else [])
    return ", ".join(parts) if parts else "No requirements"


def _render_template(meta: dict[str, Any], cats: list[tuple[str, list[dict[str, Any]]]]) -> str:
    version = _text(meta.get("kubernetesVersion"))
    must, should = _count([r for _, reqs in cats for r in reqs])
    out = [
        f"# Kubernetes AI Conformance Checklist — {version}\n\n",
        "> This document defines the conformance requirements for certifying a Kubernetes platform\n",
        "> as capable of reliably running AI and machine learning workloads.\n\n",
        "---\n\n",
        "## Overview\n\n",
        "| Kubernetes Version | Total Requirements | Mandatory (MUST) | Recommended (SHOULD) |\n",
        "|:------------------:|:------------------:|:----------------:|:--------------------:|\n",
        f"| **{version}** | {must + should} | {must} | {should} |\n\n",
        "### Requirement Levels\n\n",
        "| Level | Meaning |\n",
        "|:-----:|:--------|\n",
        "| **MUST** | Mandatory for conformance. Platform cannot be certified without implementing"
        " this requirement. |\n",
        "| **SHOULD** | Recommended but not mandatory. Platforms are encouraged to implement for"
        " better AI/ML support. |\n\n",
        "---\n\n",
        "## Table of Contents\n\n",
    ]
    for key, reqs in cats:
        if reqs:
            cat_title, cat_icon = CATEGORIES[key]
            out.append(f"- [{cat_icon} {cat_title}](#{_ANCHORS[key]}) — {_count_text(*_count(reqs))}\n")
    out.append("\n---\n\n")
    for key, reqs in cats:
        if not reqs:
            continue
        cat_title, cat_icon = CATEGORIES[key]
        out.append(f"## {cat_icon} {cat_title}\n\n*{_count_text(*_count(reqs))}*\n\n")
        for n, r in enumerate(reqs, 1):
            badge = "🟡 **SHOULD**" if r["level"] == "SHOULD" else "🔴 **MUST**"
            out += [
                f"### {n}. {title(r['id'])}\n\n",
                f"**Level:** {badge}\n\n",
                "**Description:**\n\n",
                f"> {r['description']}\n\n",
                "<details>\n",
                "<summary><strong>Compliance Fields</strong></summary>\n\n",
                "| Field | Value |\n",
                "|:------|:------|\n",
                f"| `id` | `{r['id']}` |\n",
                "| `status` | `Implemented` \\| `Not Implemented` \\| `Partially Implemented` \\| `N/A` |\n",
                "| `evidence` | List of URLs to documentation/test results |\n",
                "| `notes` | Additional context (required if status is `N/A`) |\n\n",
                "</details>\n\n",
            ]
        out.append("---\n\n")
    out += [
        "## Submission Instructions\n\n",
        "To submit your platform for conformance certification:\n\n",
        "1. Copy this checklist template to `PRODUCT.yaml`\n",
        "2. Fill in the `metadata` section with your platform details\n",
        "3. For each requirement, set the `status` field to one of:\n",
        "   - `Implemented` — Requirement is fully supported\n",
        "   - `Not Implemented` — Requirement is not supported\n",
        "   - `Partially Implemented` — Requirement is partially supported\n",
        "   - `N/A` — Requirement does not apply (must provide justification in `notes`)\n",
        "4. Provide `evidence` URLs linking to documentation or test results\n",
        "5. Submit a pull request to the [k8s-ai-conformance](https://github.com/cncf/k8s-ai-conformance)"
        " repository\n\n",
        "---\n\n",
        f"*Generated from AIConformance-{version.removeprefix('v')}.yaml*\n",
    ]
    return "".join(out)
