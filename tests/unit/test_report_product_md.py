"""PRODUCT.md as the upstream renderer makes it, from our PRODUCT.yaml or any vendor's."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import catalog
from harness.report import load_product_yaml, render_product_md

VENDOR = Path(__file__).parent / "golden" / "vendor"


def render(text: str) -> str:
    return render_product_md(load_product_yaml(text))


def test_ovhcloud_byte_for_byte() -> None:
    yaml_text = (VENDOR / "ovhcloud-mks-v1.34-PRODUCT.yaml").read_text("utf-8")
    expected = (VENDOR / "ovhcloud-mks-v1.34-PRODUCT.md").read_bytes()
    assert render(yaml_text).encode("utf-8") == expected


ODD = """\
metadata:
  kubernetesVersion: v1.33
  platformName: Odd Platform
  platformVersion: 1.10
  vendorName: Odd
  websiteUrl: "[Website URL]"
  documentationUrl: ""
  description: yes
  releaseDate: 2024-01-01
  extraThing: {a: 1}
spec:
  accelerators:
    - id: dra_support
      description: Plain description.
      level: SHOULD
      status: N/A
      evidence: "N/A"
      notes: No DRA here.
      reviewer: someone
  networking:
    - id: ai_inference
      description: Gateway.
      level: MUST
      status: implemented
      evidence: https://example.com/a-very-long-path/that/goes/on/and/on/and/on/and/on/beyond/sixty
      notes:
  schedulingOrchestration:
    - id: gang_scheduling
      description: Gang.
      level: must
      status: Done
      evidence:
        - ""
        - ./gang.md
        - http://example.com/short
  unknownCategory:
    - id: something_else
      description: never shown
      level: MUST
      status: Implemented
"""


def test_odd_vendor_file() -> None:
    md = render(ODD)
    # scalars as written: 1.10 not 1.1, "yes" not True
    assert "| **Platform Version** | 1.10 |\n" in md
    assert "> yes\n\n---\n\n## Compliance Summary" in md
    # placeholders and empty values hide the optional rows
    assert "**Website**" not in md and "**Documentation**" not in md
    # counts are case-insensitive and only for the four statuses
    assert "| ✅ Implemented | 1 |\n| ⚪ N/A | 1 |\n| **Total** | **2** |\n" in md
    assert "| Scheduling & Orchestration | Gang Scheduling | MUST | ⬜ |" in md
    assert "| Accelerators | DRA Support | SHOULD | ⚪ |" in md
    # a lower-case "must" is not SHOULD, so it shows as MUST
    assert "#### ⬜ Gang Scheduling\n\n**Level:** 🔴 MUST | **Status:** Done\n" in md
    # evidence "N/A" means none; a single string is a one-item list; long links are cut at 57 bytes
    dra = md.split("#### ⚪ DRA Support")[1].split("####")[0]
    assert "**Evidence:**" not in dra and "> No DRA here." in dra
    link = "https://example.com/a-very-long-path/that/goes/on/and/on/and/on/and/on/beyond/sixty"
    assert f"- [{link[8:65]}...]({link})\n" in md
    assert "- [./gang.md](./gang.md)\n- [example.com/short](http://example.com/short)\n\n" in md
    # an empty notes key gives no Notes block; unknown categories and keys are ignored
    ai = md.split("#### ✅ AI Inference")[1].split("###")[0]
    assert "**Notes:**" not in ai
    assert "something_else" not in md and "Something Else" not in md
    assert md.endswith("---\n\n*Generated from PRODUCT.yaml*\n")


def test_missing_sections_render_without_error() -> None:
    md = render("metadata:\n  platformName: Bare\n")
    assert md.startswith("# Bare — AI Conformance Report\n")
    assert "| **Total** | **0** |" in md
    assert render("").startswith("#  — AI Conformance Report\n")  # an empty name is not a placeholder


@pytest.mark.parametrize("version", ["v1.33", "v1.37"])
def test_checklist_template_renders_as_upstream_docs_page(version: str) -> None:
    text = (Path(catalog.__file__).parent / "data" / f"AIConformance-{version[1:]}.yaml").read_text("utf-8")
    md = render(text)
    assert md.startswith(f"# Kubernetes AI Conformance Checklist — {version}\n")
    assert md.endswith(f"*Generated from AIConformance-{version[1:]}.yaml*\n")
    n = len(catalog.load(version).ids())
    assert f"| **{version}** | {n} |" in md


def test_load_keeps_text_and_rejects_bad_yaml() -> None:
    doc = load_product_yaml("a: 1.0\nb: true\nc: ~\nd: 0x1F\n")
    assert doc == {"a": "1.0", "b": "true", "c": None, "d": "0x1F"}
    with pytest.raises(ValueError, match="malformed YAML at line"):
        load_product_yaml("a: [1, 2\nb: c\n")
    with pytest.raises(ValueError, match="mapping"):
        load_product_yaml("- a\n- b\n")
