"""Inventories of the integration tests: an existing cluster that is not there."""

from __future__ import annotations

from pathlib import Path


def write_inventory(root: Path, kubeconfig: Path | str) -> Path:
    """An existing-cluster inventory under ``root``/inventory whose kubeconfig is ``kubeconfig``."""
    inv = root / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text("all:\n  hosts: {}\n")
    (inv / "group_vars" / "all.yml").write_text(
        f"harness_lab_kind: existing\nharness_simulated: true\nharness_kubeconfig: {kubeconfig}\n"
    )
    return inv
