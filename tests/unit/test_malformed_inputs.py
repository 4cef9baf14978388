"""Malformed inputs through the real CLI: exit 2, one line on stderr naming the file and the field.

Inventories (hosts.yml, group_vars), PRODUCT.yaml, run.json and report bundles, each broken one
way. Only inputs that need no cluster: inventories go through `harness kubeconfig` and
`harness doctor`, which stop at the inventory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.cli import EXIT_FAILED, EXIT_USAGE, main
from harness.run import Run

Case = tuple[Callable[[Path], list[str]], list[str]]  # (make the input, return argv), words


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# --- inventories ---------------------------------------------------------------------------------


def inventory(
    hosts: str | bytes = "all:\n  hosts: {}\n",
    group_vars: str | bytes = "harness_lab_kind: existing\n",
    extra: dict[str, str] | None = None,
    verb: str = "kubeconfig",
) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        inv = tmp / "inv"
        (inv / "group_vars" / "all").mkdir(parents=True)
        for name, content in (("hosts.yml", hosts), ("group_vars/all.yml", group_vars)):
            f = inv / name
            f.write_bytes(content) if isinstance(content, bytes) else f.write_text(content)
        for name, text in (extra or {}).items():
            (inv / "group_vars" / "all" / name).write_text(text)
        return [verb, "-i", str(inv)]

    return make


def gv(text: str, verb: str = "kubeconfig") -> Callable[[Path], list[str]]:
    return inventory(group_vars="harness_lab_kind: existing\n" + text, verb=verb)


def declared(body: str) -> Callable[[Path], list[str]]:
    return gv(f"harness_declared:\n  {body}\n")


def no_inventory(tmp: Path) -> list[str]:
    return ["kubeconfig", "-i", str(tmp / "nowhere")]


def no_hosts(tmp: Path) -> list[str]:
    (tmp / "inv").mkdir()
    return ["doctor", "-i", str(tmp / "inv")]


INVENTORIES: dict[str, Case] = {
    "inventory missing": (no_inventory, ["nowhere", "does not exist"]),
    "no hosts.yml": (no_hosts, ["inv", "has no hosts.yml"]),
    "hosts.yml bad YAML": (inventory(hosts="all:\n  hosts: [x\n"), ["hosts.yml:", "malformed YAML"]),
    "hosts.yml a list": (inventory(hosts="- a\n"), ["hosts.yml", "expected a YAML mapping of groups"]),
    "hosts.yml all a list": (inventory(hosts="all: [a]\n"), ["hosts.yml", "all: must be a mapping"]),
    "hosts.yml all.vars text": (
        inventory(hosts="all:\n  vars: nope\n"),
        ["hosts.yml", "all.vars: must be a mapping"],
    ),
    "hosts.yml not UTF-8": (inventory(hosts=b"all:\n  hosts: {\xff}\n"), ["hosts.yml", "not UTF-8"]),
    "group_vars tab": (
        inventory(group_vars="harness_lab_kind: x\n\tharness_simulated: true\n"),
        ["all.yml:2", "malformed YAML"],
    ),
    "group_vars a list": (inventory(group_vars="- a\n"), ["all.yml", "expected a YAML mapping of variables"]),
    "group_vars not UTF-8": (inventory(group_vars=b"harness_lab_kind: \xfe\n"), ["all.yml", "not UTF-8"]),
    "group_vars/all/ file bad YAML": (
        inventory(extra={"lab.yml": "harness_product: {vendorName: [\n"}),
        ["lab.yml:", "malformed YAML"],
    ),
    "unknown lab kind": (gv("harness_lab_kind: cloud\n"), ["all.yml", "harness_lab_kind: 'cloud'"]),
    "lab kind a list": (gv("harness_lab_kind: [existing]\n"), ["all.yml", "harness_lab_kind:"]),
    "simulated not a boolean": (
        gv("harness_simulated: sure\n"),
        ["all.yml", "harness_simulated: 'sure' is not true or false"],
    ),
    "simulated wrong in hosts.yml": (
        inventory(hosts="all:\n  vars:\n    harness_simulated: maybe\n"),
        ["hosts.yml", "harness_simulated: 'maybe'"],
    ),
    "product text": (gv("harness_product: Example\n"), ["all.yml", "harness_product: must be a mapping"]),
    "product field a list": (
        gv("harness_product:\n  vendorName: [a, b]\n"),
        ["all.yml", "harness_product.vendorName: must be text"],
    ),
    "kubeconfig a mapping": (gv("harness_kubeconfig: {path: x}\n"), ["all.yml", "harness_kubeconfig: must be a path"]),
    "components a list": (gv("harness_components: [kueue]\n"), ["all.yml", "harness_components: must map"]),
    "declared a list": (gv("harness_declared: [gpu_sharing]\n"), ["all.yml", "harness_declared: must map"]),
    "declared unknown id": (
        declared("gpu_magic: {status: N/A, reason: x}"),
        ["all.yml", "harness_declared.gpu_magic", "unknown requirement id 'gpu_magic'"],
    ),
    "declared id in wrong case": (
        declared("GPU_SHARING: {status: N/A, reason: x}"),
        ["all.yml", "harness_declared.GPU_SHARING", "unknown requirement id"],
    ),
    "declared not a mapping": (declared("gpu_sharing: N/A"), ["all.yml", "harness_declared.gpu_sharing: must be a mapping"]),
    "declared Implemented": (
        declared("gpu_sharing: {status: Implemented, reason: x}"),
        ["all.yml", "harness_declared.gpu_sharing.status: 'Implemented'"],
    ),
    "declared without reason": (
        declared("gpu_sharing: {status: N/A}"),
        ["all.yml", "harness_declared.gpu_sharing: declares N/A without a reason"],
    ),
    "declared reason a list": (
        declared("gpu_sharing: {status: N/A, reason: [a]}"),
        ["all.yml", "harness_declared.gpu_sharing.reason: must be text"],
    ),
    "declared in group_vars/all/": (
        inventory(extra={"na.yml": "harness_declared:\n  nope: {status: N/A, reason: x}\n"}, verb="doctor"),
        ["na.yml", "harness_declared.nope"],
    ),
}


# --- PRODUCT.yaml (harness report --from X.yaml) -----------------------------------------------


def product(content: str | bytes, name: str = "PRODUCT.yaml") -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        f = tmp / name
        f.write_bytes(content) if isinstance(content, bytes) else f.write_text(content)
        return ["report", "--from", str(f), "--out", str(tmp / "out")]

    return make


def validate_a_directory(tmp: Path) -> list[str]:
    (tmp / "PRODUCT.yaml").mkdir()
    return ["validate", str(tmp / "PRODUCT.yaml")]


PRODUCTS: dict[str, Case] = {
    "empty file": (product("", "empty.yaml"), ["empty.yaml", "empty document"]),
    "only a comment": (product("# TODO\n"), ["PRODUCT.yaml", "empty document"]),
    "top-level list": (product("- metadata\n- spec\n"), ["PRODUCT.yaml", "must be a mapping at the top"]),
    "malformed YAML": (product("metadata:\n  vendorName: [x\nspec: {}\n"), ["PRODUCT.yaml", "malformed YAML at line"]),
    "metadata a list": (product("metadata: [a]\nspec: {}\n"), ["PRODUCT.yaml", "'metadata' is a list"]),
    "metadata missing": (product("spec: {}\n"), ["PRODUCT.yaml", "no 'metadata' section"]),
    "spec missing": (product("metadata: {platformName: x}\n"), ["PRODUCT.yaml", "no 'spec' section"]),
    "spec text": (product("metadata: {}\nspec: everything\n"), ["PRODUCT.yaml", "'spec' is text"]),
    "not UTF-8": (product(b"metadata: {platformName: \xff}\n"), ["PRODUCT.yaml", "not UTF-8"]),
    "validate a directory": (validate_a_directory, ["PRODUCT.yaml", "is not a file"]),
}


# --- run.json (harness report --from RUN, harness diff A B) ------------------------------------


def a_run() -> dict[str, Any]:
    return Run(run_id="20260101T000000Z-abc123", checklists=["v1.35"]).to_dict()


def run_json(change: Callable[[dict[str, Any]], object] | str | bytes, verb: str = "report") -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        run = tmp / "runs" / "r1"
        run.mkdir(parents=True)
        if isinstance(change, bytes):
            (run / "run.json").write_bytes(change)
        elif isinstance(change, str):
            (run / "run.json").write_text(change)
        else:
            doc = a_run()
            change(doc)
            (run / "run.json").write_text(json.dumps(doc))
        if verb == "diff":
            good = tmp / "runs" / "r0"
            good.mkdir()
            (good / "run.json").write_text(json.dumps(a_run()))
            return ["diff", str(good), str(run)]
        return ["report", "--from", str(run), "--out", str(tmp / "out")]

    return make


def requirement(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        base = {"id": "gpu_sharing", "status": "Implemented", "outcome": "passed", "checks": [],
                "evidence": [], "notes": ""}  # fmt: skip
        doc["requirements"]["gpu_sharing"] = {**base, **fields}

    return change


RUN_FILES: dict[str, Case] = {
    "not JSON": (run_json("{run_id: x"), ["run.json", "not JSON", "line 1"]),
    "empty": (run_json(""), ["run.json", "not JSON"]),
    "a list": (run_json("[]"), ["run.json", "(root): a JSON object is expected"]),
    "not UTF-8": (run_json(b'{"run_id": "\xff"}'), ["run.json", "not UTF-8"]),
    "no run_id": (run_json(lambda d: d.pop("run_id")), ["run.json", "'run_id' is a required property"]),
    "unknown checklist": (
        run_json(lambda d: d.update(checklists=["v1.99"])),
        ["run.json", "checklists/0: no checklist v1.99"],
    ),
    "checklists text": (run_json(lambda d: d.update(checklists="v1.35")), ["run.json", "checklists:"]),
    "lab a list": (run_json(lambda d: d.update(lab=[])), ["run.json", "lab:", "not of type 'object'"]),
    "bad status": (
        run_json(requirement(status="Done")),
        ["run.json", "requirements/gpu_sharing/status: 'Done' is not one of"],
    ),
    "check without name": (
        run_json(requirement(checks=[{"status": "pass"}])),
        ["run.json", "requirements/gpu_sharing/checks/0: 'name' is a required property"],
    ),
    "duration text": (run_json(lambda d: d.update(duration_s="fast")), ["run.json", "duration_s: 'fast'"]),
    "diff: second run broken": (
        run_json(lambda d: d.update(state="half"), verb="diff"),
        ["r1/run.json", "state: 'half' is not one of"],
    ),
}


# --- bundles (harness report --verify-bundle DIR) ----------------------------------------------


def bundle(sums: str | bytes | None) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        b = tmp / "bundle"
        (b / "evidence").mkdir(parents=True)
        (b / "evidence" / "a.txt").write_text("observed\n")
        digest = hashlib.sha256(b"observed\n").hexdigest()
        if isinstance(sums, bytes):
            (b / "SHA256SUMS").write_bytes(sums)
        elif sums is not None:
            (b / "SHA256SUMS").write_text(sums.format(digest=digest))
        return ["report", "--verify-bundle", str(b)]

    return make


def verify_a_file(tmp: Path) -> list[str]:
    (tmp / "bundle.tar").write_text("x")
    return ["report", "--verify-bundle", str(tmp / "bundle.tar")]


BUNDLES: dict[str, Case] = {
    "no SHA256SUMS": (bundle(None), ["bundle", "no SHA256SUMS"]),
    "bundle is a file": (verify_a_file, ["bundle.tar", "is not a directory"]),
    "line without two spaces": (bundle("{digest} evidence/a.txt\n"), ["SHA256SUMS:1", "not a checksum line"]),
    "digest cut short": (bundle("{digest}  evidence/a.txt\nabc123  PRODUCT.yaml\n"), ["SHA256SUMS:2", "not a checksum line"]),
    "digest not hex": (bundle("z" * 64 + "  evidence/a.txt\n"), ["SHA256SUMS:1", "not a checksum line"]),
    "path escapes": (bundle("{digest}  ../outside.txt\n"), ["SHA256SUMS:1", "../outside.txt: a path outside the bundle"]),
    "absolute path": (bundle("{digest}  /etc/passwd\n"), ["SHA256SUMS:1", "/etc/passwd: a path outside the bundle"]),
    "listed twice": (bundle("{digest}  evidence/a.txt\n{digest}  evidence/a.txt\n"), ["SHA256SUMS:2", "listed twice"]),
    "empty SHA256SUMS": (bundle(""), ["SHA256SUMS", "lists no file"]),
    "SHA256SUMS not UTF-8": (bundle(b"\xff\xfe  evidence/a.txt\n"), ["SHA256SUMS", "not UTF-8"]),
}

GROUPS = {"inventory": INVENTORIES, "PRODUCT.yaml": PRODUCTS, "run.json": RUN_FILES, "bundle": BUNDLES}
CASES = {f"{group}: {name}": case for group, cases in GROUPS.items() for name, case in cases.items()}


def test_there_are_at_least_thirty() -> None:
    assert len(CASES) == sum(len(c) for c in GROUPS.values()) >= 30


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_input_is_one_line_and_exit_2(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, words = CASES[name]
    argv = make(tmp_path)
    code, out, err = run_cli(argv, capsys)
    lines = err.strip().splitlines()
    assert code == EXIT_USAGE, (code, out, err)
    assert len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not (tmp_path / "out").exists()  # nothing written from a bad input


def test_a_tampered_file_is_a_finding_not_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A well-formed SHA256SUMS over a changed file: the check ran and found tampering (exit 1).
    argv = bundle("{digest}  evidence/a.txt\n")(tmp_path)
    (tmp_path / "bundle" / "evidence" / "a.txt").write_text("edited\n")
    code, out, err = run_cli(argv, capsys)
    assert (code, out.strip(), err) == (EXIT_FAILED, "evidence/a.txt: changed (checksum differs)", "")


def test_a_run_json_from_a_newer_harness_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Fields a later 1.x schema adds are passed over, not refused.
    argv = run_json(lambda d: d.update(nightly={"baseline": "r0"}))(tmp_path)
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
