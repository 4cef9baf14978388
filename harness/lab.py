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


class VaultValue(str):
    """An Ansible ``!vault`` value: ciphertext the harness never decrypts (ansible does, at run time)."""


class _Loader(yaml.SafeLoader):
    """YAML as Ansible reads an inventory: its ``!vault`` and ``!unsafe`` tags are understood."""


def _vault(loader: yaml.SafeLoader, node: yaml.Node) -> VaultValue:
    return VaultValue(loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else "")


def _unsafe(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return str(loader.construct_scalar(node))
    return loader.construct_object(node, deep=True)


_Loader.add_constructor("!vault", _vault)
_Loader.add_constructor("!unsafe", _unsafe)


def read_vars(path: str | Path) -> tuple[dict[str, Any], dict[str, Path]]:
    """The group ``all`` variables of an inventory and the file each one came from (later files win:
    hosts.yml, then group_vars/all.yml, then group_vars/all/*). Raises InventoryError."""
    p = Path(path)
    if not p.exists():
        raise InventoryError(f"inventory '{p}' does not exist (the default lab is inventories/local-sim)")
    found: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    hosts = _hosts_file(p)
    doc = _read_yaml(hosts)
    if doc is not None:
        if not isinstance(doc, dict):
            raise InventoryError(f"{hosts}: expected a YAML mapping of groups, got {_kind(doc)}")
        group = doc.get("all")
        if group is not None and not isinstance(group, dict):
            raise InventoryError(f"{hosts}: all: must be a mapping (hosts, children, vars), got {_kind(group)}")
        hosts_vars = (group or {}).get("vars")
        if hosts_vars is not None and not isinstance(hosts_vars, dict):
            raise InventoryError(f"{hosts}: all.vars: must be a mapping of variables, got {_kind(hosts_vars)}")
        for k, v in (hosts_vars or {}).items():
            found[str(k)], origin[str(k)] = v, hosts
    root = p if p.is_dir() else p.parent
    for f in _group_var_files(root / "group_vars"):
        doc = _read_yaml(f)
        if doc is None or isinstance(doc, VaultValue):
            continue  # empty, or a whole file ansible-vault encrypted: ansible reads it, not us
        if not isinstance(doc, dict):
            raise InventoryError(f"{f}: expected a YAML mapping of variables, got {_kind(doc)}")
        for k, v in doc.items():
            found[str(k)], origin[str(k)] = v, f
    return found, origin


def load_inventory(path: str | Path) -> Lab:
    p = Path(path)
    group_vars, origin = read_vars(p)

    def where(name: str) -> str:
        return f"{origin.get(name, p)}: {name}"

    kind = group_vars.get("harness_lab_kind", "existing")
    if not isinstance(kind, str) or kind not in LAB_KINDS:
        raise InventoryError(f"{where('harness_lab_kind')}: '{kind}' is not one of {', '.join(LAB_KINDS)}")
    simulated = group_vars.get("harness_simulated", kind == "local-sim")
    if not isinstance(simulated, bool):
        raise InventoryError(f"{where('harness_simulated')}: '{simulated}' is not true or false")
    product = group_vars.get("harness_product") or {}
    if not isinstance(product, dict):
        raise InventoryError(f"{where('harness_product')}: must be a mapping of PRODUCT.yaml metadata")
    for key, value in product.items():
        if isinstance(value, (dict, list)):
            raise InventoryError(f"{where('harness_product')}.{key}: must be text, got {_kind(value)}")
    for name in ("harness_kubeconfig", "sim_lab_state_dir", "sim_lab_cache_dir"):
        value = group_vars.get(name)
        if value is not None and not isinstance(value, str):
            raise InventoryError(f"{where(name)}: must be a path, got {_kind(value)}")
    components = group_vars.get("harness_components") or {}
    if not isinstance(components, dict) or any(isinstance(v, (dict, list)) for v in components.values()):
        raise InventoryError(f"{where('harness_components')}: must map component names to versions")
    return Lab(
        name=p.name if p.is_dir() else p.stem,
        path=p,
        kind=kind,
        simulated=simulated,
        product={str(k): v for k, v in product.items()},
        declared=_declarations(where("harness_declared"), group_vars.get("harness_declared") or {}),
        vars=group_vars,
    )


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} '{value}'"


def _hosts_file(p: Path) -> Path:
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
        files += sorted(f for f in (d / "all").iterdir() if f.suffix in (".yml", ".yaml") and f.is_file())
    return files


def _read_yaml(f: Path) -> Any:
    try:
        text = f.read_text("utf-8")
    except UnicodeDecodeError as e:
        raise InventoryError(f"{f}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise InventoryError(f"{f}: cannot be read ({e.strerror or e})") from None
    if text.startswith("$ANSIBLE_VAULT;"):
        return VaultValue(text)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InventoryError(f"{f}{where}: malformed YAML: {problem}") from None


def _declarations(where: str, raw: Any) -> dict[str, Declaration]:
    if not isinstance(raw, dict):
        raise InventoryError(f"{where}: must map requirement ids to {{status, reason}}")
    out: dict[str, Declaration] = {}
    for req_id, d in raw.items():
        try:
            catalog.check_ids([str(req_id)])
        except catalog.UnknownRequirementError as e:
            raise InventoryError(f"{where}.{req_id}: {e}") from None
        if not isinstance(d, dict):
            raise InventoryError(f"{where}.{req_id}: must be a mapping with status and reason")
        status = str(d.get("status", ""))
        if status not in [s.value for s in DECLARABLE]:
            raise InventoryError(f"{where}.{req_id}.status: '{status}' must be 'N/A' or 'Partially Implemented'")
        reason = d.get("reason")
        if isinstance(reason, (dict, list)):
            raise InventoryError(f"{where}.{req_id}.reason: must be text, got {_kind(reason)}")
        reason = str(reason or "").strip()
        if not reason:
            raise InventoryError(f"{where}.{req_id}: declares {status} without a reason")
        out[str(req_id)] = Declaration(Status(status), reason)
    return out
