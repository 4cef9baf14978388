"""The CNCF Kubernetes AI Conformance checklists, shipped as package data.

The YAML files under ``data/`` are the upstream checklists, unchanged; this module only reads
them. Descriptions, levels, ids and category order come from the files themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

#: Upstream spec keys in upstream order, with the titles and icons the published report uses.
CATEGORIES: dict[str, tuple[str, str]] = {
    "accelerators": ("Accelerators", "🚀"),
    "networking": ("Networking", "🌐"),
    "schedulingOrchestration": ("Scheduling & Orchestration", "📅"),
    "observability": ("Observability", "📊"),
    "security": ("Security", "🔒"),
    "operator": ("Operator Support", "⚙️"),
}

_VERSION_RE = re.compile(r"^v?1\.(\d+)(?:\.\d+)?$")


class UnknownChecklistError(ValueError):
    """A checklist version the catalog does not ship."""


class UnknownRequirementError(ValueError):
    """A requirement id that no shipped checklist defines."""


@dataclass(frozen=True)
class Requirement:
    id: str
    description: str
    level: str  # "MUST" | "SHOULD"
    category: str  # upstream spec key, e.g. "schedulingOrchestration"

    @property
    def role(self) -> str:
        """The verify role that proves this requirement."""
        return f"verify_{self.id}"

    @property
    def category_title(self) -> str:
        return CATEGORIES[self.category][0]


@dataclass(frozen=True)
class Checklist:
    version: str  # "v1.37"
    requirements: tuple[Requirement, ...]
    metadata_keys: tuple[str, ...]  # metadata keys in upstream order

    def ids(self) -> list[str]:
        return [r.id for r in self.requirements]

    def get(self, req_id: str) -> Requirement | None:
        for r in self.requirements:
            if r.id == req_id:
                return r
        return None

    def by_category(self) -> dict[str, list[Requirement]]:
        """Requirements grouped per category, categories in upstream order."""
        out: dict[str, list[Requirement]] = {}
        for r in self.requirements:
            out.setdefault(r.category, []).append(r)
        return out


def normalize_version(text: str) -> str:
    """``1.35``, ``v1.35`` and ``v1.35.3`` all name checklist ``v1.35``."""
    m = _VERSION_RE.match(text.strip())
    if not m:
        raise UnknownChecklistError(
            f"'{text}' is not a checklist version (expected vX.Y, one of {', '.join(versions())})"
        )
    return f"v1.{m.group(1)}"


@cache
def versions() -> tuple[str, ...]:
    """Shipped checklist versions, oldest first."""
    names = [p.name for p in resources.files(__package__).joinpath("data").iterdir()]
    found = sorted(
        (int(m.group(1)), f"v1.{m.group(1)}")
        for n in names
        if (m := re.match(r"AIConformance-1\.(\d+)\.yaml$", n))
    )
    return tuple(v for _, v in found)


def latest() -> str:
    return versions()[-1]


def raw_checklist(version: str) -> dict[str, Any]:
    """The upstream checklist document as parsed YAML."""
    v = normalize_version(version)
    if v not in versions():
        raise UnknownChecklistError(
            f"no checklist {v} is shipped (known: {', '.join(versions())})"
        )
    text = resources.files(__package__).joinpath(f"data/AIConformance-{v[1:]}.yaml").read_text("utf-8")
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return doc


@cache
def load(version: str) -> Checklist:
    doc = raw_checklist(version)
    reqs: list[Requirement] = []
    for category, items in (doc.get("spec") or {}).items():
        if category not in CATEGORIES:
            raise ValueError(f"checklist {version}: unknown category '{category}'")
        for item in items or []:
            reqs.append(
                Requirement(
                    id=str(item["id"]),
                    description=str(item["description"]),
                    level=str(item["level"]).upper(),
                    category=category,
                )
            )
    return Checklist(
        version=normalize_version(version),
        requirements=tuple(reqs),
        metadata_keys=tuple((doc.get("metadata") or {}).keys()),
    )


def all_ids() -> list[str]:
    """Every requirement id of every shipped version, first-seen order."""
    seen: dict[str, None] = {}
    for v in versions():
        for r in load(v).requirements:
            seen.setdefault(r.id, None)
    return list(seen)


def versions_with(req_id: str) -> list[str]:
    return [v for v in versions() if load(v).get(req_id) is not None]


def check_ids(ids: list[str]) -> None:
    """Raise UnknownRequirementError naming the first id no checklist defines."""
    known = all_ids()
    for i in ids:
        if i not in known:
            raise UnknownRequirementError(
                f"unknown requirement id '{i}' (known: {', '.join(sorted(known))})"
            )


def title(req_id: str) -> str:
    """Report title from an id, as the upstream renderer makes it (``dra_support`` → ``DRA Support``).

    Acronyms match case-insensitively; other words only get their first letter upper-cased
    (``gpuSharing`` stays ``GpuSharing``, which ``str.capitalize`` would not keep).
    """
    return " ".join(
        w.upper() if w.upper() in _ACRONYMS else w[:1].upper() + w[1:] for w in req_id.split("_")
    )


_ACRONYMS = frozenset({"DRA", "API", "GPU", "AI", "URL", "CRD"})
