#!/usr/bin/env python3
"""Run `harness validate` and the CNCF repository's own validator side by side; report disagreement.

    git clone https://github.com/cncf/k8s-ai-conformance /tmp/cncf-ai
    .venv/bin/python bench/validate_vs_upstream.py /tmp/cncf-ai            # needs Go and yaml.v3
    .venv/bin/python bench/validate_vs_upstream.py /tmp/cncf-ai --keep /tmp/cmp

Builds the checkout's ``scripts/validate.go`` (its URL checks and CNCF-landscape look-up stubbed
out, since `harness validate` makes those only with --online), then validates with both every
published ``vX.Y/*/PRODUCT.yaml`` of the checkout and a set of variants of one valid file: each
YAML shape, scalar type and duplicate-key case docs/validate.md lists. Prints one line per file
and exits 1 when a verdict (pass/fail) differs. Go fetches gopkg.in/yaml.v3 the usual way
(GOPROXY, GOMODCACHE and GOFLAGS are honoured).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness import catalog  # noqa: E402

# Where the upstream source is patched to stay offline; a missing anchor means upstream changed.
STUBS = (
    ("cncfMembers, err := fetchCNCFMembers()", "cncfMembers, err := map[string]bool{}, error(nil)"),
    ('if vendorName != "" && !cncfMembers[vendorName]', 'if false && !cncfMembers[vendorName]'),
    ("func validateURL(urlStr string) error {", "func validateURL(urlStr string) error { return nil }\n\nfunc unusedValidateURL(urlStr string) error {"),
)  # fmt: skip


def build(upstream: Path, work: Path, go: str) -> Path:
    src = (upstream / "scripts" / "validate.go").read_text()
    for anchor, stub in STUBS:
        if anchor not in src:
            sys.exit(f"scripts/validate.go has no {anchor!r} any more: update STUBS")
        src = src.replace(anchor, stub)
    mod = work / "build"
    (mod / "scripts").mkdir(parents=True)
    (mod / "scripts" / "validate.go").write_text(src)
    (mod / "go.mod").write_text("module upstreamvalidate\n\ngo 1.22\n\nrequire gopkg.in/yaml.v3 v3.0.1\n")
    subprocess.run([go, "build", "-mod=mod", "-tags", "validate", "-o", "validate", "./scripts/validate.go"],
                   cwd=mod, check=True)  # fmt: skip
    return mod / "validate"


def base_file() -> str:
    lines = ["metadata:", "  kubernetesVersion: v1.36", "  platformName: Lab", "  platformVersion: '0.1'",
             "  vendorName: Example", "  websiteUrl: https://example.org/", "  documentationUrl: https://example.org/docs",
             "  productLogoUrl: https://example.org/logo.svg", "  description: A lab.",
             "  contactEmailAddress: lab@example.org",
             "  k8sConformanceUrl: https://github.com/cncf/k8s-conformance/tree/main/v1.36/lab", "spec:"]  # fmt: skip
    for cat, reqs in catalog.load("v1.36").by_category().items():
        lines.append(f"  {cat}:")
        for r in reqs:
            desc = yaml.safe_dump(r.description, width=10**6).splitlines()[0]
            lines += [f"  - id: {r.id}", f"    description: {desc}", f"    level: {r.level}",
                      "    status: Implemented", "    evidence:", f"    - https://example.org/{r.id}", "    notes: ok"]  # fmt: skip
    return "\n".join(lines) + "\n"


def variants() -> dict[str, str]:
    base = base_file()
    at = base.index("  - id: gpu_sharing\n")

    def meta(line: str) -> str:  # the vendorName line replaced
        return base.replace("  vendorName: Example\n", line)

    def gpu(old: str, new: str) -> str:  # an edit inside the gpu_sharing entry (a SHOULD)
        return base[:at] + base[at:].replace(old, new, 1)

    ev = "    evidence:\n    - https://example.org/gpu_sharing\n"
    out = {"valid": base}
    for value in ("1.0", "42", "0x1F", "0o17", "1_000", "1e3", ".5", "-.inf", "true", "True", "yes", "on",
                  "2024-01-31", "2024-1-2 3:04:05", "2024-02-30", "2024-01-31T10:00:00", "1.0.0", "~", "''",
                  "'  '", "'[x]'", "' [x]'", "[a]", "{a: b}", "!!str 1.0", "!!binary aGVsbG8="):  # fmt: skip
        out[f"vendorName {value}"] = meta(f"  vendorName: {value}\n")
    out |= {
        "vendorName twice": meta("  vendorName: Example\n  vendorName: Other\n"),
        "keys 1 and '1'": meta("  vendorName: Example\n  1: a\n  '1': b\n"),
        "camelCase null, snake_case set": meta("  vendorName:\n  vendor_name: Example\n"),
        "evidence one string": gpu(ev, "    evidence: https://example.org/x\n"),
        "evidence null": gpu(ev, "    evidence:\n"),
        "evidence mapping": gpu(ev, "    evidence: {a: b}\n"),
        "evidence entry list": gpu(ev, "    evidence:\n    - [a]\n"),
        "evidence entry null": gpu(ev, ev + "    -\n"),
        "notes list": gpu("    notes: ok\n", "    notes: [a]\n"),
        "notes number": gpu("    notes: ok\n", "    notes: 1.5\n"),
        "level mapping": gpu("    level: SHOULD\n", "    level: {a: b}\n"),
        "level relabelled": gpu("    level: SHOULD\n", "    level: MUST\n"),
        "description edited": gpu("    description:", "    description: edited\n    x-old:"),
        "status twice": gpu("    status: Implemented\n", "    status: Implemented\n    status: N/A\n"),
        "unknown key twice": gpu("    notes: ok\n", "    notes: ok\n    x: 1\n    x: 2\n"),
        "inside an unknown key twice": gpu("    notes: ok\n", "    notes: ok\n    x: {a: 1, a: 2}\n"),
        "SHOULD left blank": gpu("    status: Implemented\n" + ev, "    status: ''\n    evidence: []\n"),
        "SHOULD blank, one empty link": gpu("    status: Implemented\n" + ev, "    status: ''\n    evidence: ['']\n"),
        "entry a string": gpu("  - id: gpu_sharing\n", "  - text\n  - id: gpu_sharing\n"),
        "entry null": gpu("  - id: gpu_sharing\n", "  -\n  - id: gpu_sharing\n"),
        "entry without id": gpu("  - id: gpu_sharing\n", "  - status: x\n  - id: gpu_sharing\n"),
        "category twice": base + "  operator: []\n",
        "spec a list": base[: base.index("spec:")] + "spec: []\n",
        "metadata a list": "metadata: [a]\n" + base[base.index("spec:") :],
        "top-level list": "- a\n", "empty": "", "null document": "~\n",
        "second document broken": base + "---\na: [\n",
        "unknown top-level key twice inside": base + "x:\n  a: 1\n  a: 2\n",
        "metadata twice": base + "metadata: {}\n",
        "merge key": base.replace("metadata:\n", "d: &d {platformName: Lab}\nmetadata:\n  <<: *d\n")
        .replace("  platformName: Lab\n  platformVersion", "  platformVersion", 1),
    }  # fmt: skip
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("upstream", type=Path, help="a checkout of cncf/k8s-ai-conformance")
    ap.add_argument("--go", default=shutil.which("go") or "go", help="the go command")
    ap.add_argument("--keep", type=Path, help="work here (kept) instead of a temporary directory")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="validate-vs-upstream-"))
    tree = work / "tree"
    shutil.copytree(args.upstream, tree, ignore=shutil.ignore_patterns(".git"), dirs_exist_ok=True)
    for schema in (REPO / "harness" / "catalog" / "data").glob("AIConformance-*.yaml"):
        if not (tree / "docs" / schema.name).exists():  # a checklist the checkout does not have yet
            shutil.copy(schema, tree / "docs" / schema.name)
    for name, text in variants().items():
        d = tree / "v1.36" / f"variant-{name.replace(' ', '_').replace('/', '_')}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "PRODUCT.yaml").write_text(text)
    upstream = build(args.upstream, work, args.go)
    harness = [sys.executable, "-m", "harness.cli", "validate"]
    differ = 0
    files = sorted(p.relative_to(tree) for p in tree.glob("v1.*/*/PRODUCT.yaml"))
    for rel in files:
        up = subprocess.run([str(upstream), str(rel)], cwd=tree, capture_output=True, text=True)
        ours = subprocess.run([*harness, str(rel)], cwd=tree, capture_output=True, text=True)
        same = (up.returncode == 0) == (ours.returncode == 0)
        differ += not same
        print(f"{'same  ' if same else 'DIFFER'} upstream={up.returncode} harness={ours.returncode} {rel}")
        if not same:
            print("    upstream: " + " | ".join(up.stdout.splitlines()[2:6]))
            print("    harness:  " + " | ".join(ours.stdout.splitlines()[:4]))
    print(f"{len(files) - differ} of {len(files)} verdicts agree")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
