"""harness.conformance.sim_process, run as Ansible runs a module (JSON args file), on small local processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / "collections"
MODULE = "ansible_collections.harness.conformance.plugins.modules.sim_process"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_module(tmp_path: Path, **args: Any) -> dict[str, Any]:
    args_file = tmp_path / f"args-{time.monotonic_ns()}.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = {**os.environ, "PYTHONPATH": str(COLLECTIONS)}
    proc = subprocess.run([sys.executable, "-m", MODULE, str(args_file)], capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except OSError:
        return False
    return state not in "ZX"


@pytest.fixture()
def state(tmp_path: Path) -> Any:
    state_dir = tmp_path / "state"
    yield state_dir
    # Whatever a test left running goes.
    run_module(tmp_path, name="*", state="absent", state_dir=str(state_dir), stop_timeout=2)


def http_server(port: int) -> list[str]:
    return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]


def test_start_records_and_is_idempotent(tmp_path: Path, state: Path) -> None:
    port = free_port()
    args = dict(name="web", state_dir=str(state), command=http_server(port), version="1.0",
                endpoint=f"http://127.0.0.1:{port}", health_url=f"http://127.0.0.1:{port}/")
    first = run_module(tmp_path, **args)
    assert first.get("changed") is True, first
    record = json.loads((state / "components" / "web.json").read_text())
    for key in ("name", "pid", "version", "endpoint", "health_url", "log", "cmdline", "started"):
        assert key in record
    assert record["pid"] == first["pid"] and alive(record["pid"])
    assert record["cmdline"] == http_server(port)
    assert Path(record["log"]) == state / "logs" / "web.log"

    second = run_module(tmp_path, **args)
    assert second.get("changed") is False and second["pid"] == first["pid"]

    relabelled = run_module(tmp_path, **{**args, "version": "1.1"})
    assert relabelled.get("changed") is True and relabelled["pid"] == first["pid"], "metadata needs no restart"
    assert json.loads((state / "components" / "web.json").read_text())["version"] == "1.1"
    args["version"] = "1.1"

    changed_env = run_module(tmp_path, **args, env={"HARNESS_TEST": "1"})
    assert changed_env.get("changed") is True and changed_env["restarted"] is True
    assert changed_env["pid"] != first["pid"] and not alive(first["pid"])


def test_port_taken_by_someone_else_fails_clearly(tmp_path: Path, state: Path) -> None:
    port = free_port()
    holder = subprocess.Popen(http_server(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        out = run_module(tmp_path, name="web", state_dir=str(state), command=http_server(port),
                         health_url=f"http://127.0.0.1:{port}/")
    finally:
        holder.terminate()
        holder.wait(10)
    assert out.get("failed") is True
    assert f"port 127.0.0.1:{port} is already in use" in out["msg"]
    assert f"pid {holder.pid}" in out["msg"]


def test_failure_reports_the_log_tail_and_stops_the_process(tmp_path: Path, state: Path) -> None:
    script = "import sys, time; print('listening failed: boom', flush=True); time.sleep(0.2); sys.exit(3)"
    out = run_module(tmp_path, name="bad", state_dir=str(state), command=[sys.executable, "-c", script],
                     health_url=f"tcp://127.0.0.1:{free_port()}", health_timeout=20)
    assert out.get("failed") is True
    assert "listening failed: boom" in out["msg"]

    slow = run_module(tmp_path, name="slow", state_dir=str(state), command=["sleep", "60"],
                      health_url=f"tcp://127.0.0.1:{free_port()}", health_timeout=1)
    assert slow.get("failed") is True and "not healthy after" in slow["msg"]
    assert not alive(int(slow["record"]["pid"])), "an unhealthy process must be stopped"


def test_absent_stops_every_component_and_removes_records(tmp_path: Path, state: Path) -> None:
    pids = []
    for name in ("a", "b"):
        # A process that ignores SIGTERM must still go (SIGKILL after stop_timeout).
        cmd = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
               "time.sleep(60)"] if name == "b" else ["sleep", "60"]
        out = run_module(tmp_path, name=name, state_dir=str(state), command=cmd, health_grace=0.3)
        assert out.get("changed") is True, out
        pids.append(int(out["pid"]))
    out = run_module(tmp_path, name="*", state="absent", state_dir=str(state), stop_timeout=1)
    assert out.get("changed") is True
    assert sorted(out["stopped"]) == ["a", "b"] and out["killed"] == ["b"]
    assert not any(alive(p) for p in pids)
    assert not list((state / "components").glob("*.json"))
    again = run_module(tmp_path, name="*", state="absent", state_dir=str(state))
    assert again.get("changed") is False
