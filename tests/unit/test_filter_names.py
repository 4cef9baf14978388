"""Every filter of harness.conformance has one name across the collection: Ansible keeps one plugin per
name, so a second module registering the same name silently replaces the first's filter."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from unit_fixtures import load_filter_plugin

FILTERS = Path(__file__).resolve().parents[2] / "collections/ansible_collections/harness/conformance/plugins/filter"


def test_no_filter_name_is_registered_by_two_modules() -> None:
    names: Counter[str] = Counter()
    owners: dict[str, list[str]] = {}
    modules = sorted(p.stem for p in FILTERS.glob("*.py") if not p.name.startswith("_"))
    assert len(modules) > 10, modules  # the scan found the collection's filter modules
    for stem in modules:
        for name in load_filter_plugin(stem).FilterModule().filters():
            names[name] += 1
            owners.setdefault(name, []).append(stem)
    assert {n: owners[n] for n, count in names.items() if count > 1} == {}
