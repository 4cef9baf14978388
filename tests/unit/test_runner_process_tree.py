"""runner._ProcessTree: a stopped run leaves no process of ansible's behind (a module's children, an
``async`` job that daemonized itself away from the tree), but spares a daemon a module started on
purpose in its own session (a lab component)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness.runner import _ProcessTree

# Stands for a module ansible runs from its temp directory: it starts a lab-style daemon (own
# session), daemonizes an "async job" the way async_wrapper does (fork, setsid, fork), starts an
# ordinary child, and waits.
MODULE = r"""
import os, subprocess, sys, time
out = open(sys.argv[1], "w")
daemon = subprocess.Popen(["sleep", "301"], start_new_session=True)
child = subprocess.Popen(["sleep", "303"])
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        job = subprocess.Popen(["sleep", "302"])
        os.write(w, f"{os.getpid()} {job.pid}".encode())
        time.sleep(300)
    os._exit(0)
wrapper, job = os.read(r, 100).decode().split()
out.write(f"daemon={daemon.pid} child={child.pid} wrapper={wrapper} job={job}\n")
out.close()
time.sleep(300)
"""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_kill_leftovers_finds_async_jobs_and_spares_daemons(tmp_path: Path) -> None:
    tmpdir = tmp_path / "ansible-tmp-1700000000.1-42-1" / "AnsiballZ_fake.py"
    tmpdir.parent.mkdir()
    tmpdir.write_text(MODULE)
    artifact_dir = tmp_path / "runs" / "r1" / "ansible" / "artifacts" / "verify"
    pids_file = tmp_path / "pids"
    env = {**os.environ, "AWX_ISOLATED_DATA_DIR": str(artifact_dir)}
    module = subprocess.Popen([sys.executable, str(tmpdir), str(pids_file)], env=env)
    pids: dict[str, int] = {}
    try:
        deadline = time.monotonic() + 20
        while not pids_file.is_file() or not pids_file.read_text().endswith("\n"):
            assert time.monotonic() < deadline, "the fake module did not start"
            time.sleep(0.05)
        pids = {k: int(v) for k, v in (p.split("=") for p in pids_file.read_text().split())}
        assert all(_alive(p) for p in pids.values())

        tree = _ProcessTree(artifact_dir)
        tree.snapshot()
        assert pids["wrapper"] not in tree.last  # re-parented away: not in the tree
        tree.kill_leftovers()
        module.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pids[k]) for k in ("child", "wrapper", "job")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert {k: _alive(p) for k, p in pids.items()} == {
            "daemon": True, "child": False, "wrapper": False, "job": False,
        }  # fmt: skip
    finally:
        if module.poll() is None:
            module.kill()
            module.wait()
        for pid in pids.values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_another_runs_processes_are_not_touched(tmp_path: Path) -> None:
    # Not a descendant of this process and not a daemon: only the environment tells whose it is.
    env = {**os.environ, "AWX_ISOLATED_DATA_DIR": str(tmp_path / "other")}
    out = subprocess.run(["sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"], env=env, capture_output=True, text=True,
                         check=True)  # fmt: skip
    other = int(out.stdout)
    try:
        assert _alive(other)
        _ProcessTree(tmp_path / "mine").kill_leftovers()
        assert _alive(other)
        _ProcessTree(tmp_path / "other").kill_leftovers()
        deadline = time.monotonic() + 10
        while _alive(other) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(other)
    finally:
        try:
            os.kill(other, signal.SIGKILL)
        except ProcessLookupError:
            pass
