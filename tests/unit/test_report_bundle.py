"""The bundle on disk: layout, evidence copy, SHA256SUMS and verify_bundle."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from harness.report import render_any_product, verify_bundle, write_all, write_bundle
from harness.report.bundle import BundleError
from harness.run import Run

EXAMPLES = Path(__file__).parent / "golden" / "vendor"


def test_bundle_layout(sample_run: Run, sample_run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = write_bundle(Run.load(sample_run_dir), sample_run_dir, out)
    v137 = out / "v1.37"
    for rel in ("PRODUCT.yaml", "PRODUCT.md", "SHA256SUMS", "results/junit.xml", "results/e2e.log",
                "results/results.json", "results/secure_accelerator_access/junit.xml",
                "results/robust_controller/e2e.log", "evidence/gang_scheduling/jobs.txt"):  # fmt: skip
        assert (v137 / rel).is_file(), rel
        assert v137 / rel in files
    assert not (v137 / "results" / "dra_support").exists()  # not a v1.37 requirement
    assert (out / "v1.35" / "results" / "dra_support" / "junit.xml").is_file()
    # every local link of PRODUCT.yaml resolves inside the bundle
    doc = yaml.safe_load((v137 / "PRODUCT.yaml").read_text("utf-8"))
    for items in doc["spec"].values():
        for r in items:
            for link in r["evidence"]:
                if not link.startswith("https://"):
                    assert (v137 / link.removeprefix("file://").split("#")[0]).is_file(), link
    assert verify_bundle(out) == []
    assert verify_bundle(v137) == []


def test_sha256sums_format(sample_run: Run, sample_run_dir: Path, tmp_path: Path) -> None:
    write_all(sample_run, sample_run_dir, tmp_path)
    vdir = tmp_path / "v1.37"
    lines = (vdir / "SHA256SUMS").read_text("utf-8").splitlines()
    paths = [line.split("  ", 1)[1] for line in lines]
    assert paths == sorted(paths) and "SHA256SUMS" not in paths
    for line in lines:
        digest, rel = line.split("  ", 1)
        assert hashlib.sha256((vdir / rel).read_bytes()).hexdigest() == digest


def test_verify_bundle_reports_tampering(sample_run: Run, sample_run_dir: Path, tmp_path: Path) -> None:
    write_bundle(sample_run, sample_run_dir, tmp_path)
    vdir = tmp_path / "v1.37"
    (vdir / "evidence" / "gang_scheduling" / "jobs.txt").write_text("job gang-ok: 4/4 running!\n", "utf-8")
    (vdir / "results" / "e2e.log").unlink()
    (vdir / "evidence" / "extra.txt").write_text("sneaked in\n", "utf-8")
    problems = verify_bundle(tmp_path)
    assert "v1.37/evidence/gang_scheduling/jobs.txt: changed (checksum differs)" in problems
    assert "v1.37/results/e2e.log: missing" in problems
    assert "v1.37/evidence/extra.txt: extra file not in SHA256SUMS" in problems
    assert len(problems) == 3
    assert verify_bundle(tmp_path / "v1.35") == []


def test_verify_bundle_without_sums(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no SHA256SUMS"):
        verify_bundle(tmp_path)


def test_rewrite_replaces_old_bundle_but_not_foreign_dirs(
    sample_run: Run, sample_run_dir: Path, tmp_path: Path
) -> None:
    write_bundle(sample_run, sample_run_dir, tmp_path)
    (tmp_path / "v1.37" / "stale.txt").write_text("old\n", "utf-8")
    write_bundle(sample_run, sample_run_dir, tmp_path)
    assert not (tmp_path / "v1.37" / "stale.txt").exists()
    foreign = tmp_path / "other"
    (foreign / "v1.37").mkdir(parents=True)
    (foreign / "v1.37" / "notes.txt").write_text("mine\n", "utf-8")
    with pytest.raises(FileExistsError):
        write_bundle(sample_run, sample_run_dir, foreign)
    assert (foreign / "v1.37" / "notes.txt").is_file()


def test_symlinked_evidence_is_not_copied(sample_run: Run, sample_run_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("not for the bundle\n", "utf-8")
    (sample_run_dir / "evidence" / "link.txt").symlink_to(secret)
    write_bundle(sample_run, sample_run_dir, tmp_path / "out")
    assert not (tmp_path / "out" / "v1.37" / "evidence" / "link.txt").exists()


def test_bundle_product_md_is_rendered_from_its_yaml(
    sample_run: Run, sample_run_dir: Path, tmp_path: Path
) -> None:
    write_bundle(sample_run, sample_run_dir, tmp_path / "out")
    vdir = tmp_path / "out" / "v1.37"
    again = render_any_product(vdir / "PRODUCT.yaml", tmp_path / "again")
    assert again.read_bytes() == (vdir / "PRODUCT.md").read_bytes()


def test_render_any_product_vendor_file(tmp_path: Path) -> None:
    target = render_any_product(EXAMPLES / "ovhcloud-mks-v1.34-PRODUCT.yaml", tmp_path)
    assert target == tmp_path / "PRODUCT.md"
    assert target.read_bytes() == (EXAMPLES / "ovhcloud-mks-v1.34-PRODUCT.md").read_bytes()
