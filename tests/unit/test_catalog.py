from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness import catalog

SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference" / "cncf"


def test_all_five_versions_ship() -> None:
    assert catalog.versions() == ("v1.33", "v1.34", "v1.35", "v1.36", "v1.37")
    assert catalog.latest() == "v1.37"


@pytest.mark.parametrize("text", ["1.35", "v1.35", "v1.35.3", " v1.35 "])
def test_normalize_version(text: str) -> None:
    assert catalog.normalize_version(text) == "v1.35"


@pytest.mark.parametrize("text", ["1.x", "v2.0", "", "latest"])
def test_bad_version(text: str) -> None:
    with pytest.raises(catalog.UnknownChecklistError):
        catalog.normalize_version(text)


def test_unshipped_version() -> None:
    with pytest.raises(catalog.UnknownChecklistError, match="known: v1.33"):
        catalog.load("v1.32")


def test_dra_support_gone_from_136() -> None:
    assert catalog.versions_with("dra_support") == ["v1.33", "v1.34", "v1.35"]
    assert catalog.load("v1.33").get("dra_support").level == "SHOULD"  # type: ignore[union-attr]
    assert catalog.load("v1.34").get("dra_support").level == "MUST"  # type: ignore[union-attr]


def test_categories_in_upstream_order() -> None:
    cats = list(catalog.load("v1.37").by_category())
    assert cats == list(catalog.CATEGORIES)


def test_counts_per_version() -> None:
    counts = {v: len(catalog.load(v).requirements) for v in catalog.versions()}
    assert counts == {"v1.33": 9, "v1.34": 9, "v1.35": 12, "v1.36": 14, "v1.37": 15}


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/reference not beside the checkout")
def test_package_data_is_upstream_unchanged() -> None:
    for v in catalog.versions():
        name = f"AIConformance-{v[1:]}.yaml"
        shipped = catalog.raw_checklist(v)
        assert shipped == yaml.safe_load((SHARED / name).read_text("utf-8")), name


def test_unknown_id() -> None:
    with pytest.raises(catalog.UnknownRequirementError, match="'gpu_magic'"):
        catalog.check_ids(["ai_inference", "gpu_magic"])


@pytest.mark.parametrize(
    ("rid", "title"),
    [("dra_support", "DRA Support"), ("ai_service_metrics", "AI Service Metrics"), ("robust_controller", "Robust Controller")],
)
def test_title(rid: str, title: str) -> None:
    assert catalog.title(rid) == title


def test_role_name() -> None:
    assert catalog.load("v1.37").get("ai_inference").role == "verify_ai_inference"  # type: ignore[union-attr]
