"""Read the simulated lab's state: where it lives, which components run, whether they answer.

The records are written by the ``harness.conformance.sim_process`` Ansible module as
``<state>/components/<name>.json``; this module only reads them and probes the processes.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_STATE_DIR = "~/.local/state/harness/local-sim"
PROBE_TIMEOUT = 2.0


@dataclass
class ComponentStatus:
    """One recorded lab component and what was observed about it just now."""

    name: str
    pid: int
    version: str = ""
    endpoint: str = ""
    health_url: str = ""
    log: str = ""
    cmdline: list[str] = field(default_factory=list)
    started: str = ""
    alive: bool = False
    healthy: bool | None = None  # None: no health URL, or not probed because the process is gone
    detail: str = ""

    @property
    def state(self) -> str:
        """running | unhealthy | dead."""
        if not self.alive:
            return "dead"
        return "unhealthy" if self.healthy is False else "running"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state}


def lab_state_dir(inventory_vars: Mapping[str, Any]) -> Path:
    """The lab state directory named by the inventory (``sim_lab_state_dir``), `~` expanded.

    ``HARNESS_SIM_STATE_DIR`` overrides it; a templated value (``{{ ... }}``) cannot be resolved
    outside Ansible and falls back to the default.
    """
    raw = os.environ.get("HARNESS_SIM_STATE_DIR") or str(inventory_vars.get("sim_lab_state_dir") or "")
    if not raw or "{{" in raw:
        raw = DEFAULT_STATE_DIR
    return Path(raw).expanduser()


def kubeconfig_path(state_dir: Path | str) -> Path:
    """The lab's admin kubeconfig (mode 0600). Only the path: the contents are a credential."""
    return Path(state_dir) / "kubeconfig"


def _starttime(pid: int) -> int | None:
    """Kernel start time of pid, None when it is gone or a zombie (same rule as sim_process)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(errors="replace")
    except OSError:
        return None
    rest = raw[raw.rfind(")") + 2:].split()
    if not rest or rest[0] in ("Z", "X"):
        return None
    return int(rest[19])


def is_alive(record: Mapping[str, Any]) -> bool:
    """The recorded process still runs and is the same process (not a recycled PID)."""
    pid = int(record.get("pid") or 0)
    start = _starttime(pid) if pid > 0 else None
    if start is None:
        return False
    recorded = record.get("starttime")
    return recorded is None or int(recorded) == start


def probe(url: str, timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    """One health probe: http(s) GET answering 200, or tcp://host:port accepting a connection."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "tcp":
        try:
            with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), timeout=timeout):
                return True, "connected"
        except OSError as exc:
            return False, str(exc)
    # Lab endpoints are loopback or the lab's own namespace, several with self-signed serving
    # certificates: the probe asks "does it answer", not "is it who it claims".
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as resp:  # noqa: S310
            code = int(resp.status)
    except urllib.error.HTTPError as exc:
        code = exc.code
    except (urllib.error.URLError, OSError) as exc:
        return False, str(getattr(exc, "reason", exc))
    return code == 200, f"HTTP {code}"


def _status(record: Mapping[str, Any], check_health: bool) -> ComponentStatus:
    comp = ComponentStatus(
        name=str(record.get("name", "")), pid=int(record.get("pid") or 0),
        version=str(record.get("version") or ""), endpoint=str(record.get("endpoint") or ""),
        health_url=str(record.get("health_url") or ""), log=str(record.get("log") or ""),
        cmdline=[str(a) for a in record.get("cmdline") or []], started=str(record.get("started") or ""),
    )
    comp.alive = is_alive(record)
    if not comp.alive:
        comp.detail = "process not running"
    elif check_health and comp.health_url:
        comp.healthy, comp.detail = probe(comp.health_url)
    return comp


def read_components(state_dir: Path | str, check_health: bool = True) -> list[ComponentStatus]:
    """Every recorded component, sorted by start time, with an alive check and a health probe."""
    comp_dir = Path(state_dir) / "components"
    records: list[dict[str, Any]] = []
    for path in sorted(comp_dir.glob("*.json")) if comp_dir.is_dir() else []:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            records.append(data)
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda r: _status(r, check_health), records))
    return sorted(found, key=lambda c: (c.started, c.name))
