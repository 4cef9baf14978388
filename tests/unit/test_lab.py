from __future__ import annotations

from pathlib import Path

import pytest

from harness.lab import InventoryError, load_inventory
from harness.results import Status

REPO = Path(__file__).resolve().parents[2]


def make_inv(tmp_path: Path, group_vars: str, hosts: str = "all:\n  hosts:\n    localhost: {}\n") -> Path:
    inv = tmp_path / "lab"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text(hosts)
    (inv / "group_vars" / "all.yml").write_text(group_vars)
    return inv


def test_default_inventory_is_simulated() -> None:
    lab = load_inventory(REPO / "inventories" / "local-sim")
    assert lab.kind == "local-sim"
    assert lab.simulated


def test_declarations(tmp_path: Path) -> None:
    lab = load_inventory(
        make_inv(
            tmp_path,
            "harness_lab_kind: existing\nharness_declared:\n  cluster_autoscaling:\n"
            "    status: N/A\n    reason: fixed-size bare-metal pool\n",
        )
    )
    assert lab.declared["cluster_autoscaling"].status is Status.NA
    assert not lab.simulated


def test_missing_inventory(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="does not exist"):
        load_inventory(tmp_path / "nope")


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    inv = make_inv(tmp_path, "harness_lab_kind: [local-sim\n")
    with pytest.raises(InventoryError, match=r"all\.yml:\d+: malformed YAML"):
        load_inventory(inv)


@pytest.mark.parametrize(
    ("gv", "msg"),
    [
        ("harness_lab_kind: cloud\n", "harness_lab_kind: 'cloud' is not one of"),
        ("harness_declared:\n  gpu_magic: {status: N/A, reason: x}\n", "unknown requirement id 'gpu_magic'"),
        ("harness_declared:\n  gpu_sharing: {status: Implemented, reason: x}\n", "must be 'N/A' or"),
        ("harness_declared:\n  gpu_sharing: {status: N/A}\n", "without a reason"),
        ("harness_product: just-a-string\n", "harness_product: must be a mapping"),
        ("- a list\n", "expected a YAML mapping"),
    ],
)
def test_bad_inventory(tmp_path: Path, gv: str, msg: str) -> None:
    with pytest.raises(InventoryError, match=msg.replace("(", r"\(")):
        load_inventory(make_inv(tmp_path, gv))


def test_no_hosts_file(tmp_path: Path) -> None:
    (tmp_path / "inv").mkdir()
    with pytest.raises(InventoryError, match="no hosts.yml"):
        load_inventory(tmp_path / "inv")
