"""The report bundle: per checklist version, PRODUCT.yaml/.md, results/, evidence/ and SHA256SUMS.

Layout of ``<out>/<version>/`` (a directory a vendor can submit as ``vX.Y/<product>/``)::

    PRODUCT.yaml  PRODUCT.md  SHA256SUMS
    results/junit.xml  results/e2e.log  results/results.json   every requirement of the version (CI)
    results/<id>/junit.xml  results/<id>/e2e.log              that requirement's tests only
    evidence/...                                               everything the roles saved

The CNCF validator fails a linked junit/e2e/results file when any test in it failed, whatever
requirement it belongs to, and a skipped test under Implemented is an error. So PRODUCT.yaml
links only the per-requirement files, and only for an Implemented requirement whose every check
passed; every other requirement links its evidence files alone.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from harness import catalog
from harness.report.e2e_log import render_e2e_log
from harness.report.gotests import requirement_test_name
from harness.report.junit import render_junit
from harness.report.product_md import load_product_yaml, render_product_md
from harness.report.product_yaml import render_product_yaml
from harness.report.results_json import render_results_json
from harness.results import CheckStatus, Status
from harness.run import Run

SUMS = "SHA256SUMS"
_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$")


class BundleError(ValueError):
    """Not a bundle that can be checked (no SHA256SUMS, or one that is not a checksum list); the
    message names the file and the line."""
#: first checklist whose validator parses linked test artifacts (and understands file://...#Test)
HYBRID_MIN_MINOR = 37


def evidence_links(
    run: Run, version: str, exists: Callable[[str], bool] = lambda rel: True
) -> dict[str, list[str]]:
    """Evidence to list in PRODUCT.yaml per requirement of ``version`` that the run covered.

    ``exists`` says whether a bundle-relative path (``evidence/...``) is present; missing local
    files are left out, since the validator fails a link to a file that is not there."""
    version = catalog.normalize_version(version)
    hybrid = int(version.split(".")[1]) >= HYBRID_MIN_MINOR
    out: dict[str, list[str]] = {}
    for req_id in catalog.load(version).ids():
        r = run.requirements.get(req_id)
        if r is None:
            continue
        links: list[str] = []
        clean = bool(r.checks) and all(c.status is CheckStatus.PASS for c in r.checks)
        if r.status is Status.IMPLEMENTED and clean:
            if hybrid:
                links += [
                    f"file://results/{req_id}/junit.xml#{requirement_test_name(req_id)}",
                    f"file://results/{req_id}/e2e.log",
                ]
            else:
                links += [f"results/{req_id}/junit.xml", f"results/{req_id}/e2e.log"]
        for e in r.evidence:
            if _is_url(e):
                links.append(e)
                continue
            rel = bundle_path(e)
            if rel is not None and exists(rel.split("#", 1)[0]):
                links.append(rel)
        out[req_id] = list(dict.fromkeys(links))
    return out


def bundle_path(evidence: str) -> str | None:
    """Where a run's local evidence path lands in the bundle (``evidence/...``); None if unsafe."""
    path, sep, frag = evidence.strip().partition("#")
    path = path.removeprefix("file://")
    p = PurePosixPath(path)
    if not path or p.is_absolute() or ".." in p.parts:
        return None
    parts = [x for x in p.parts if x != "."]
    if not parts:
        return None
    if parts[0] != "evidence":
        parts.insert(0, "evidence")
    return "/".join(parts) + (sep + frag if frag else "")


def write_bundle(run: Run, run_dir: Path, out_dir: Path) -> list[Path]:
    """Write one bundle directory per checklist version of the run; returns every file written."""
    written: list[Path] = []
    for version in run.checklists:
        written += _write_version(run, run_dir, out_dir / catalog.normalize_version(version))
    return written


def _write_version(run: Run, run_dir: Path, vdir: Path) -> list[Path]:
    version = vdir.name
    _prepare(vdir)
    files = _copy_evidence(run_dir / "evidence", vdir / "evidence")
    links = evidence_links(run, version, lambda rel: (vdir / rel).is_file())
    product = render_product_yaml(run, version, links)
    ids = [i for i in catalog.load(version).ids() if i in run.requirements]
    texts = {
        "PRODUCT.yaml": product,
        "PRODUCT.md": render_product_md(load_product_yaml(product)),
        "results/junit.xml": render_junit(run, ids),
        "results/e2e.log": render_e2e_log(run, ids),
        "results/results.json": render_results_json(run, ids),
    }
    for i in ids:
        texts[f"results/{i}/junit.xml"] = render_junit(run, [i])
        texts[f"results/{i}/e2e.log"] = render_e2e_log(run, [i])
    for rel, text in texts.items():
        files.append(_write(vdir / rel, text))
    files.append(_write(vdir / SUMS, _sums(vdir)))
    return files


def _prepare(vdir: Path) -> None:
    # rebuild from scratch so no stale file ends up in SHA256SUMS; never wipe a foreign directory
    if vdir.exists() and any(vdir.iterdir()):
        if not (vdir / SUMS).is_file():
            raise FileExistsError(
                f"{vdir} exists and is not a report bundle (no {SUMS}); choose another --out"
            )
        shutil.rmtree(vdir)
    vdir.mkdir(parents=True, exist_ok=True)


def _copy_evidence(src: Path, dst: Path) -> list[Path]:
    # regular files only: a symlink could pull in a file from outside the run
    out: list[Path] = []
    if not src.is_dir():
        return out
    for f in sorted(src.rglob("*")):
        if f.is_symlink() or not f.is_file():
            continue
        target = dst / f.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)
        out.append(target)
    return out


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return path


def _files(root: Path) -> list[str]:
    return sorted(
        f.relative_to(root).as_posix()
        for f in root.rglob("*")
        if (f.is_file() or f.is_symlink()) and f.name != SUMS
    )


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sums(root: Path) -> str:
    return "".join(f"{_digest(root / rel)}  {rel}\n" for rel in _files(root))


def verify_bundle(path: Path) -> list[str]:
    """Files of a bundle (a version directory, or a directory of them) that were changed, removed
    or added since SHA256SUMS was written; empty when intact. Raises BundleError when there is no
    SHA256SUMS, or it is not a list of ``<sha256>  <path inside the bundle>`` lines."""
    path = Path(path)
    if (path / SUMS).is_file():
        return _verify_one(path, "")
    subs = sorted(d for d in path.iterdir() if (d / SUMS).is_file()) if path.is_dir() else []
    if not subs:
        raise BundleError(f"{path}: no {SUMS}, here or in a version directory below (not a report bundle)")
    return [p for d in subs for p in _verify_one(d, f"{d.name}/")]


def _read_sums(sums: Path) -> dict[str, str]:
    try:
        lines = sums.read_text("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise BundleError(f"{sums}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise BundleError(f"{sums}: cannot be read ({e.strerror or e})") from None
    listed: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        digest, sep, rel = line.partition("  ")
        rel = rel.removeprefix("*")
        if not sep or not _DIGEST.match(digest) or not rel:
            raise BundleError(
                f"{sums}:{n}: not a checksum line (<sha256 in hex>, two spaces, <path>): {line[:80]!r}"
            )
        if ".." in PurePosixPath(rel).parts or PurePosixPath(rel).is_absolute():
            raise BundleError(f"{sums}:{n}: {rel}: a path outside the bundle")
        if rel in listed:
            raise BundleError(f"{sums}:{n}: {rel}: listed twice")
        listed[rel] = digest.lower()
    if not listed:
        raise BundleError(f"{sums}: lists no file")
    return listed


def _verify_one(root: Path, prefix: str) -> list[str]:
    problems: list[str] = []
    listed = _read_sums(root / SUMS)
    for rel, digest in listed.items():
        f = root / rel
        if not f.is_file():
            problems.append(f"{prefix}{rel}: missing")
        elif _digest(f) != digest:
            problems.append(f"{prefix}{rel}: changed (checksum differs)")
    for rel in _files(root):
        if rel not in listed:
            problems.append(f"{prefix}{rel}: extra file not in {SUMS}")
    return problems


def _is_url(s: str) -> bool:
    head = s.split("://", 1)[0].lower()
    return "://" in s and head != "file"
