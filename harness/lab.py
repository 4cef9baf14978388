"""Read an Ansible inventory into a typed Lab: what the lab is and what it declares.

Validated once here, at the edge; the rest of the harness takes a Lab as plain data.
Recognised inventory variables (group ``all``):

``harness_lab_kind``      ``local-sim`` (the simulated lab), ``existing`` or ``bare-metal``
``harness_simulated``     true when GPUs are simulated (every report then says so)
``harness_product``       PRODUCT.yaml metadata (vendorName, platformName, ...)
``harness_declared``      ``{<requirement id>: {status: "N/A" | "Partially Implemented", reason: ...}}``
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness import catalog
from harness.results import Declaration, Status

LAB_KINDS = ("local-sim", "existing", "bare-metal")
DECLARABLE = (Status.NA, Status.PARTIAL)


class InventoryError(ValueError):
    """The inventory cannot be used; the message names the file and the problem."""


@dataclass
class Lab:
    name: str
    path: Path
    kind: str
    simulated: bool
    product: dict[str, Any] = field(default_factory=dict)
    declared: dict[str, Declaration] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)


def load_inventory(path: str | Path) -> Lab:
    p = Path(path)
    if not p.exists():
        raise InventoryError(f"inventory '{p}' does not exist (the default lab is inventories/local-sim)")
    hosts = _hosts_file(p)
    group_vars: dict[str, Any] = {}
    if hosts is not None:
        doc = _read_yaml(hosts)
        if doc is not None and not isinstance(doc, dict):
            raise InventoryError(f"{hosts}: expected a YAML mapping of groups, got {type(doc).__name__}")
        group_vars.update(((doc or {}).get("all") or {}).get("vars") or {})
    root = p if p.is_dir() else p.parent
    for f in _group_var_files(root / "group_vars"):
        doc = _read_yaml(f)
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise InventoryError(f"{f}: expected a YAML mapping of variables, got {type(doc).__name__}")
        group_vars.update(doc)

    kind = str(group_vars.get("harness_lab_kind", "existing"))
    if kind not in LAB_KINDS:
        raise InventoryError(
            f"{p}: harness_lab_kind '{kind}' is not one of {', '.join(LAB_KINDS)}"
        )
    product = group_vars.get("harness_product") or {}
    if not isinstance(product, dict):
        raise InventoryError(f"{p}: harness_product must be a mapping of PRODUCT.yaml metadata")
    return Lab(
        name=p.name if p.is_dir() else p.stem,
        path=p,
        kind=kind,
        simulated=bool(group_vars.get("harness_simulated", kind == "local-sim")),
        product=dict(product),
        declared=_declarations(p, group_vars.get("harness_declared") or {}),
        vars=group_vars,
    )


def _hosts_file(p: Path) -> Path | None:
    if p.is_file():
        return p
    for name in ("hosts.yml", "hosts.yaml", "inventory.yml", "inventory.yaml"):
        if (p / name).is_file():
            return p / name
    raise InventoryError(f"inventory '{p}' has no hosts.yml (expected {p}/hosts.yml)")


def _group_var_files(d: Path) -> list[Path]:
    files: list[Path] = []
    for base in ("all.yml", "all.yaml"):
        if (d / base).is_file():
            files.append(d / base)
    if (d / "all").is_dir():
        files += sorted(f for f in (d / "all").iterdir() if f.suffix in (".yml", ".yaml"))
    return files


def _read_yaml(f: Path) -> Any:
    try:
        return yaml.safe_load(f.read_text("utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InventoryError(f"{f}{where}: malformed YAML: {problem}") from None


def _declarations(p: Path, raw: Any) -> dict[str, Declaration]:
    if not isinstance(raw, dict):
        raise InventoryError(f"{p}: harness_declared must map requirement ids to {{status, reason}}")
    out: dict[str, Declaration] = {}
    for req_id, d in raw.items():
        try:
            catalog.check_ids([str(req_id)])
        except catalog.UnknownRequirementError as e:
            raise InventoryError(f"{p}: harness_declared: {e}") from None
        if not isinstance(d, dict):
            raise InventoryError(f"{p}: harness_declared.{req_id} must be a mapping with status and reason")
        status = str(d.get("status", ""))
        if status not in [s.value for s in DECLARABLE]:
            raise InventoryError(
                f"{p}: harness_declared.{req_id}.status '{status}' must be 'N/A' or 'Partially Implemented'"
            )
        reason = str(d.get("reason") or "").strip()
        if not reason:
            raise InventoryError(f"{p}: harness_declared.{req_id} declares {status} without a reason")
        out[str(req_id)] = Declaration(Status(status), reason)
    return out
