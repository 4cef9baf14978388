"""The AWX/AAP execution environment: `ansible-builder create` makes its build context (no container
runtime needed), and the definition pins everything the verify playbook uses."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EE = ROOT / "execution-environment.yml"
BUILDER = shutil.which("ansible-builder", path=str(Path(sys.executable).parent)) or shutil.which("ansible-builder")


def pinned_collections() -> dict[str, str]:
    doc = yaml.safe_load((ROOT / "ee" / "requirements.yml").read_text())
    return {c["name"]: str(c["version"]) for c in doc["collections"]}


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if BUILDER is None:
        pytest.skip("ansible-builder is not installed (pip install -e '.[dev]')")
    ctx = tmp_path_factory.mktemp("ee-context")
    proc = subprocess.run(
        [BUILDER, "create", "-f", str(EE), "-c", str(ctx), "--output-filename", "Containerfile"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return ctx


def test_create_writes_the_build_context(context: Path) -> None:
    containerfile = (context / "Containerfile").read_text()
    base = yaml.safe_load(EE.read_text())["images"]["base_image"]["name"]
    assert f'ARG EE_BASE_IMAGE="{base}"' in containerfile
    refs = re.search(r'ARG ANSIBLE_INSTALL_REFS="([^"]+)"', containerfile)
    assert refs and re.fullmatch(r"ansible-core==\S+ ansible-runner==\S+", refs.group(1))
    # the collections and Python packages go in exactly as pinned
    assert yaml.safe_load((context / "_build" / "requirements.yml").read_text()) == yaml.safe_load(
        (ROOT / "ee" / "requirements.yml").read_text()
    )
    assert (context / "_build" / "requirements.txt").read_text() == (ROOT / "ee" / "requirements.txt").read_text()
    # the project's own collection, with the emit role the result contract goes through, is copied in
    emit = context / "_build" / "harness-conformance" / "roles" / "emit" / "tasks" / "main.yml"
    assert emit.read_text() == (ROOT / "collections/ansible_collections/harness/conformance/roles/emit/tasks/main.yml").read_text()
    assert "COPY _build/harness-conformance/ /usr/share/ansible/collections/ansible_collections/harness/conformance/" in containerfile


def test_everything_is_pinned() -> None:
    for name, version in pinned_collections().items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name}: {version} is not an exact version"
    lines = [ln.strip() for ln in (ROOT / "ee" / "requirements.txt").read_text().splitlines()]
    reqs = [ln for ln in lines if ln and not ln.startswith("#")]
    assert reqs and all(re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.]+", ln) for ln in reqs), reqs
    deps = yaml.safe_load(EE.read_text())["dependencies"]
    for key in ("ansible_core", "ansible_runner"):
        assert "==" in deps[key]["package_pip"]


def test_pins_match_what_the_harness_is_tested_with() -> None:
    """Same major version as the collections of the installed ansible, same ansible-core minor."""
    import ansible.release

    root = Path(ansible.release.__file__).resolve().parents[1] / "ansible_collections"
    for name, version in pinned_collections().items():
        manifest = root / name.replace(".", "/") / "MANIFEST.json"
        if not manifest.is_file():
            pytest.skip(f"{name} is not bundled with the installed ansible")
        installed = yaml.safe_load(manifest.read_text())["collection_info"]["version"]
        assert version.split(".")[0] == installed.split(".")[0], f"{name}: EE pins {version}, tests use {installed}"
    core = yaml.safe_load(EE.read_text())["dependencies"]["ansible_core"]["package_pip"].split("==")[1]
    assert core.split(".")[:2] == ansible.release.__version__.split(".")[:2]


def test_every_collection_the_verify_playbook_uses_is_in_the_ee() -> None:
    """Modules and filters named in the verify playbooks and roles, and the collections the
    harness.conformance plugins import."""
    used: set[str] = set()
    files = [ROOT / "playbooks" / f for f in ("verify.yml", "cleanup.yml")]
    files += list((ROOT / "playbooks" / "tasks").glob("*.yml")) + list(ROOT.glob("roles/verify_*/**/*.yml"))
    files += list((ROOT / "collections/ansible_collections/harness/conformance/roles").glob("**/*.yml"))
    for f in files:
        text = f.read_text()
        used |= set(re.findall(r"^\s*(?:- )?([a-z_]+\.[a-z_]+)\.[a-z_]+:", text, re.MULTILINE))  # modules
        used |= set(re.findall(r"\|\s*([a-z_]+\.[a-z_]+)\.[a-z_]+\b", text))  # filters
    # the collection's own plugins run other collections' code (kubernetes.core's module code in the worker)
    for f in (ROOT / "collections/ansible_collections/harness/conformance/plugins").glob("**/*.py"):
        used |= set(re.findall(r"ansible_collections\.([a-z_]+\.[a-z_]+)\.", f.read_text()))
    used -= {"ansible.builtin", "harness.conformance"}
    assert "kubernetes.core" in used, "no use of kubernetes.core found: the scan is broken"
    assert used <= set(pinned_collections()), f"not in ee/requirements.yml: {sorted(used - set(pinned_collections()))}"
