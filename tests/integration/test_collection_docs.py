"""Every module of harness.conformance documents itself in a form ansible-doc reads: a user's
first look at a module (`ansible-doc harness.conformance.verify_gate`) must not be an error."""

from __future__ import annotations

import os
import subprocess

import pytest

from harness.runner import PROJECT_ROOT, build_envvars

pytestmark = pytest.mark.integration

PLUGINS = PROJECT_ROOT / "collections" / "ansible_collections" / "harness" / "conformance" / "plugins"


def _names(kind: str) -> list[str]:
    return sorted(p.stem for p in (PLUGINS / kind).glob("*.py") if not p.name.startswith("_"))


def test_every_module_has_documentation_ansible_doc_reads() -> None:
    names = _names("modules")
    assert "verify_gate" in names and "k8s_info" in names
    # the text view, not --json: only rendering it catches a description line that YAML read as a mapping
    done = subprocess.run(["ansible-doc", "-t", "module", *[f"harness.conformance.{n}" for n in names]],
                          env={**os.environ, **build_envvars(), "ANSIBLE_NOCOLOR": "1"}, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0 and "ERROR" not in done.stderr, done.stderr[-2000:]
    shown = {line.split()[2] for line in done.stdout.splitlines() if line.startswith("> MODULE ")}
    assert shown == {f"harness.conformance.{n}" for n in names}, shown
