"""Every output of a run, written from run.json alone; one module per format.

Writers take data and return text (no I/O); :mod:`harness.report.bundle` does the writing.
"""

from __future__ import annotations

from pathlib import Path

from harness.report.bundle import verify_bundle, write_bundle
from harness.report.e2e_log import render_e2e_log
from harness.report.gotests import requirement_test_name
from harness.report.junit import render_junit
from harness.report.product_md import load_product_yaml, render_product_md
from harness.report.product_yaml import render_product_yaml
from harness.report.results_json import render_results_json
from harness.run import Run

__all__ = [
    "load_product_yaml",
    "render_any_product",
    "render_e2e_log",
    "render_junit",
    "render_product_md",
    "render_product_yaml",
    "render_results_json",
    "requirement_test_name",
    "verify_bundle",
    "write_all",
    "write_bundle",
]


def write_all(run: Run, run_dir: Path, out_dir: Path) -> list[Path]:
    """Every output of a run under ``out_dir/<version>/``; returns the files written."""
    return write_bundle(run, run_dir, out_dir)


def render_any_product(product_yaml_path: Path, out_dir: Path) -> Path:
    """Render any PRODUCT.yaml (ours or a vendor's) to ``out_dir/PRODUCT.md``.

    Raises OSError when the file cannot be read and ValueError when it is malformed YAML or lacks
    a ``metadata`` or ``spec`` mapping (an empty file would otherwise render an empty report)."""
    try:
        text = Path(product_yaml_path).read_text("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 text (byte {e.start})") from None
    doc = load_product_yaml(text)
    if not doc:
        raise ValueError("empty document: no metadata and no spec, not a PRODUCT.yaml")
    for key in ("metadata", "spec"):
        if key not in doc or doc[key] is None:
            raise ValueError(f"no '{key}' section: not a PRODUCT.yaml")
        if not isinstance(doc[key], dict):
            shape = "a list" if isinstance(doc[key], list) else "text"
            raise ValueError(f"'{key}' is {shape}, not a mapping")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "PRODUCT.md"
    with target.open("w", encoding="utf-8", newline="") as fh:
        fh.write(render_product_md(doc))
    return target
