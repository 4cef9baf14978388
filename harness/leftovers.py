"""What a verify run may leave on the cluster, and the next run's sweep of it.

A run that can reach a cluster (it has a kubeconfig) writes ``<run dir>/cleanup-pending.json`` when
it starts and holds an exclusive lock (``flock``) on it while it lives. The marker goes when the run
knows it left nothing: it finished and no requirement errored (every role cleaned up after itself),
or ``playbooks/cleanup.yml`` reached the cluster and nothing labelled with the run id was left.
A run that was killed, aborted (a second Ctrl-C), whose cleanup could not reach the cluster, or
whose cluster stopped answering keeps its marker; the next run in the same runs directory against
the same kubeconfig sweeps what those runs left before it starts (cleanup.yml with their ids) and
drops their markers once the sweep reached the cluster and found nothing left behind.

A marker still locked belongs to a run in progress and is left alone. The lock goes with the
process that holds it, however it ends (SIGKILL too), and no child inherits it.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

MARKER = "cleanup-pending.json"


@dataclass
class Pending:
    """An earlier run whose objects may still be on the cluster."""

    run_id: str
    run_dir: Path


class Claim:
    """This run's marker, locked for as long as the run lives."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle: IO[str] | None = handle

    def release(self, *, clean: bool) -> None:
        """``clean``: the run left nothing, so the marker goes; else it stays for the next run."""
        if self._handle is None:
            return
        if clean:
            self.path.unlink(missing_ok=True)
        self._handle.close()  # drops the lock
        self._handle = None


def _same(a: str, b: Path) -> bool:
    try:
        return Path(a).resolve() == b.resolve()
    except (OSError, RuntimeError):
        return False


def claim(run_dir: Path, run_id: str, kubeconfig: Path) -> Claim:
    """Write and lock ``run_dir/cleanup-pending.json`` (locked before it appears under its name)."""
    path = run_dir / MARKER
    tmp = run_dir / f".{MARKER}.tmp"
    handle = open(tmp, "w", encoding="utf-8")  # noqa: SIM115 - held open for the lock's lifetime
    fcntl.flock(handle, fcntl.LOCK_EX)
    json.dump({"run_id": run_id, "kubeconfig": str(kubeconfig.resolve()), "pid": os.getpid()}, handle)
    handle.flush()
    tmp.replace(path)
    return Claim(path, handle)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("run_id"), str) else None


def _in_progress(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            return False  # closing the file drops the lock just taken
    except OSError:
        return True  # gone or unreadable: not ours to sweep


def pending(runs_dir: Path, kubeconfig: Path, *, exclude: str = "") -> list[Pending]:
    """Earlier runs under ``runs_dir`` against ``kubeconfig`` that may have left objects, oldest first."""
    found: list[Pending] = []
    if not runs_dir.is_dir():
        return found
    for path in sorted(runs_dir.glob(f"*/{MARKER}")):
        doc = _read(path)
        if doc is None or doc["run_id"] == exclude or not _same(str(doc.get("kubeconfig", "")), kubeconfig):
            continue
        if not _in_progress(path):
            found.append(Pending(doc["run_id"], path.parent))
    return found


def settle(runs: list[Pending]) -> None:
    """The sweep removed what these runs left: drop their markers."""
    for p in runs:
        (p.run_dir / MARKER).unlink(missing_ok=True)


@dataclass
class Swept:
    """What one cleanup.yml run reported (its ``harness_cleanup`` stats)."""

    reached: bool = False  # the cluster answered
    deleted: list[str] = field(default_factory=list)  # "Kind/name" found with a run's label and deleted
    left: list[str] = field(default_factory=list)  # of those, still there when the wait ended

    @property
    def clean(self) -> bool:
        """The cluster answered and nothing labelled with the runs' ids is left."""
        return self.reached and not self.left


def swept(data: dict[str, Any]) -> Swept:
    rec = data.get("harness_cleanup") if isinstance(data, dict) else None
    if not isinstance(rec, dict):
        return Swept()
    return Swept(
        reached=rec.get("reached") in (True, "True", "true"),
        deleted=[str(x) for x in rec.get("deleted") or []],
        left=[str(x) for x in rec.get("left") or []],
    )
