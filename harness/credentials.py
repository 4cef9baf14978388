"""Credentials a run must never write down, and the scrub that keeps them out of it.

The runner keeps secret-named environment variables away from ansible and redacts the
environment it records. Ansible still reads the inventory and any kubeconfig, and a role that
prints, saves, reports or fails with a credential would put it in the run. So before a playbook
runs, every value that is a credential by its name or its shape is collected:

- inventory variables (group ``all``) whose name looks secret (``registry_password``,
  ``k8s_auth_api_key``, ``ssh_private_key``; nested keys too, e.g. ``registry.password``);
- environment variables whose name looks secret;
- the credentials of the kubeconfig the inventory names (``harness_kubeconfig``) and of
  ``$KUBECONFIG``: tokens, passwords, client keys;
- anything anywhere in those that holds a PEM private key.

They are replaced by ``<redacted>`` in every file of the run directory, in the result data that
run.json is built from, and in every line of progress the harness prints. A private key is
matched line by line, since a key written into JSON or YAML keeps its lines but not its breaks.
Values shorter than :data:`MIN_LENGTH` are left alone: replacing ``admin`` everywhere would
mangle the run more than it protects. ``!vault`` values are ciphertext and are not collected.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

REDACTED = "<redacted>"
MIN_LENGTH = 8
_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_PATH_NAME = re.compile(r"(_file|_path|_dir|_sock)$", re.IGNORECASE)  # names of paths, not secrets
_KUBECONFIG_SECRETS = {"client-key-data"}  # credentials whose kubeconfig name does not say so
_KEY_LINE = 16  # a private key's body lines are longer; its header lines are not secret

E = TypeVar("E")


def _secret_name(name: str) -> bool:
    from harness.runner import is_secret_name

    return (is_secret_name(name) or name in _KUBECONFIG_SECRETS) and not _PATH_NAME.search(name)


def _leaves(value: Any) -> Iterable[str]:
    if isinstance(value, Mapping):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        yield str(value)


def from_values(values: Any, under_secret: bool = False) -> set[str]:
    """Credentials in nested data: leaves under a secret-looking key, and any PEM private key."""
    from harness.lab import VaultValue

    found: set[str] = set()
    if isinstance(values, Mapping):
        for k, v in values.items():
            found |= from_values(v, under_secret or _secret_name(str(k)))
    elif isinstance(values, list):
        for v in values:
            found |= from_values(v, under_secret)
    elif isinstance(values, VaultValue):
        pass  # ciphertext: ansible decrypts it; its plain text is not ours to know
    else:
        found |= {s for s in _leaves(values) if under_secret or _PEM.search(s)}
    return {s for s in found if len(s.strip()) >= MIN_LENGTH}


def from_kubeconfig(path: Path) -> set[str]:
    """The users' credentials in a kubeconfig (nothing when it cannot be read)."""
    try:
        doc = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return set()
    users = doc.get("users") if isinstance(doc, dict) else None
    return from_values(users or [])


def collect(inventory: Path | None, environ: Mapping[str, str]) -> frozenset[str]:
    """Every credential a run on ``inventory`` with ``environ`` could come across."""
    from harness.lab import InventoryError, read_vars

    found = from_values({k: v for k, v in environ.items() if k != "KUBECONFIG"})
    kubeconfigs = [Path(p) for p in environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if inventory is not None:
        try:
            variables, _ = read_vars(inventory)
        except InventoryError:
            variables = {}
        found |= from_values(variables)
        given = variables.get("harness_kubeconfig")
        if isinstance(given, str) and given:
            root = inventory if inventory.is_dir() else inventory.parent
            kubeconfigs.append(root / Path(given).expanduser())
    for kc in kubeconfigs:
        found |= from_kubeconfig(kc)
    return frozenset(found)


def fragments(secrets: Iterable[str]) -> list[str]:
    """What to look for: each secret (a key's body line by line) and its JSON-escaped forms."""
    out: set[str] = set()
    for s in secrets:
        lines = [x.strip() for x in s.splitlines() if len(x.strip()) >= _KEY_LINE and "-----" not in x]
        for piece in lines if _PEM.search(s) or len(lines) > 1 else [s]:
            out |= {piece, json.dumps(piece)[1:-1], json.dumps(piece, ensure_ascii=False)[1:-1]}
    return sorted((f for f in out if len(f) >= MIN_LENGTH), key=len, reverse=True)


def _replace(text: str, pieces: list[str]) -> str:
    for piece in pieces:
        text = text.replace(piece, REDACTED)
    return text


def redact(text: str, found: Iterable[str]) -> str:
    return _replace(text, fragments(found))


def redact_data(value: Any, found: Iterable[str]) -> Any:
    """A copy of nested data (dicts, lists, strings) with every credential redacted."""
    pieces = fragments(found)
    if not pieces:
        return value

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return _replace(v, pieces)
        if isinstance(v, Mapping):
            return {walk(k) if isinstance(k, str) else k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return walk(value)


def redacting(callback: Callable[[E], None], found: Iterable[str]) -> Callable[[E], None]:
    """``callback``, given a copy of each (dataclass) event with its text fields redacted."""
    pieces = fragments(found)

    def call(event: E) -> None:
        changes = {
            f.name: _replace(value, pieces)
            for f in dataclasses.fields(event)  # type: ignore[arg-type]
            if isinstance(value := getattr(event, f.name), str)
        }
        callback(dataclasses.replace(event, **changes))  # type: ignore[type-var]

    return call


def scrub_tree(root: Path, found: Iterable[str]) -> list[Path]:
    """Redact every credential in every regular file under ``root``; the files changed."""
    pieces = [f.encode("utf-8") for f in fragments(found)]
    changed: list[Path] = []
    if not pieces or not root.is_dir():
        return changed
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        clean = data
        for piece in pieces:
            clean = clean.replace(piece, REDACTED.encode())
        if clean != data:
            path.write_bytes(clean)
            changed.append(path)
    return changed
