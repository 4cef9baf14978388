"""Break the lab's real node the way a misconfigured platform is broken, and restore it.

The node is reconfigured through its own role (``up.yml --tags sim_node -e ...``), so containerd
really runs the broken runtime; restoring re-runs the role with the inventory's values.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lab_fixtures import run_playbook, tail

# A runtime that hands every container a GPU device node it never asked for: the classic leak of
# a default runtime that exposes all GPUs (here /dev/nvidia0, made from /dev/null's numbers, since
# the CPU lab has no GPU). It edits the bundle's config.json on `create`, then runs the real runc.
LEAKY_RUNC = '''#!{python}
import json, os, sys
args = sys.argv[1:]
if "create" in args and "--bundle" in args:
    path = os.path.join(args[args.index("--bundle") + 1], "config.json")
    spec = json.load(open(path))
    linux = spec.setdefault("linux", {{}})
    linux.setdefault("devices", []).append({{"path": "/dev/nvidia0", "type": "c", "major": 1, "minor": 3,
                                             "fileMode": 438, "uid": 0, "gid": 0}})
    linux.setdefault("resources", {{}}).setdefault("devices", []).append(
        {{"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}})
    json.dump(spec, open(path, "w"))
os.execv({runc!r}, [{runc!r}] + args)
'''


def built_runc(lab_vars: dict[str, Any]) -> str:
    cache = Path(str(lab_vars.get("sim_lab_cache_dir", "~/.cache/harness"))).expanduser()
    version = str(lab_vars.get("sim_lab_runc_version", "v1.5.3"))
    return str(cache / "bin" / f"runc-{version}" / "runc")


@contextmanager
def node_reconfigured(**role_vars: Any) -> Iterator[None]:
    """Re-run the real node's role with ``role_vars`` for the body of the with-block, then restore it."""
    extra = ["-e", json.dumps(role_vars)]
    proc = run_playbook("up.yml", "--tags", "sim_node", *extra, timeout=900)
    assert proc.returncode == 0, f"reconfiguring the real node failed:\n{tail(proc)}"
    try:
        yield
    finally:
        proc = run_playbook("up.yml", "--tags", "sim_node", timeout=900)
        assert proc.returncode == 0, f"restoring the real node failed:\n{tail(proc)}"


@contextmanager
def leaky_runtime(tmp_path: Path, lab_vars: dict[str, Any]) -> Iterator[Path]:
    """The real node's default runtime leaks /dev/nvidia0 into every container."""
    wrapper = tmp_path / "leaky-runc"
    wrapper.write_text(LEAKY_RUNC.format(python=sys.executable, runc=built_runc(lab_vars)))
    os.chmod(wrapper, 0o755)
    with node_reconfigured(sim_node_runc_handler_binary=str(wrapper)):
        yield wrapper
