"""Lab: the faults a night brings, survived (issue 11).

- The API server killed while `harness verify` runs a role: the run ends well within its
  `--timeout` (the role errs, the cluster gives no answer for `--cluster-wait` seconds, the run
  stops), partial with exit 3; what finished before is kept, the role that was running is an
  error (never a pass), the rest did not run. Its namespace could not be deleted; the next
  `harness verify` in the same runs directory removes it before it starts.
- SIGINT (a terminal's Ctrl-C, sent to the process group) and SIGTERM (sent to the process) while
  `harness verify` runs a role that has made its namespace, and while `harness up` runs a task:
  the harness ends within 30 s with exit 3, nothing labelled with the run id is left on the
  cluster, and no process of the run lives on (every process seen in its tree while it ran is
  gone, and none carries the run directory in its command line or environment).

Each test drives the `harness` CLI as a subprocess, reads its `--json` progress lines and polls the
cluster, so it signals or kills once the run really is inside a role. The lab is put back as it was
at the end of each test, whether it passed or not.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kubernetes import client

from harness.leftovers import MARKER
from harness.results import Outcome, Status
from harness.run import Run
from harness.simlab.status import read_components
from lab_fixtures import INVENTORY, REPO, SimLab, run_playbook, tail

pytestmark = pytest.mark.lab

HARNESS = [sys.executable, "-m", "harness.cli"]
RUN_LABEL = "harness.dev/run-id"
CLEANUP_LIMIT_S = 30.0
#: aggregated APIs that serve no listable objects (metrics), skipped when looking for labelled objects
METRICS_GROUPS = ("custom.metrics.k8s.io", "external.metrics.k8s.io", "metrics.k8s.io")

T = TypeVar("T")


# --- processes -------------------------------------------------------------------------------------


def _start_time(pid: int) -> str | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if len(fields) > 19 and fields[0] != "Z" else None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _descendants(root: int) -> dict[int, str]:
    """pid -> start time of every living descendant of root."""
    parent: dict[int, int] = {}
    for d in Path("/proc").glob("[0-9]*"):
        try:
            parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    out: dict[int, str] = {}
    todo = [root]
    while todo:
        p = todo.pop()
        for child, pp in parent.items():
            if pp == p and child not in out:
                start = _start_time(child)
                if start is not None:
                    out[child] = start
                    todo.append(child)
    return out


def _component_pids(lab: SimLab) -> set[int]:
    return {c.pid for c in read_components(lab.state_dir, check_health=False)}


def processes_mentioning(text: str, exclude: set[int]) -> list[str]:
    """Processes whose command line or environment holds text (ansible-runner puts the run's
    artifact directory into the environment of ansible-playbook and everything it starts)."""
    needle, found = text.encode(), []
    for d in Path("/proc").glob("[0-9]*"):
        pid = int(d.name)
        if pid == os.getpid() or pid in exclude or _start_time(pid) is None:
            continue
        try:
            if needle in (d / "cmdline").read_bytes() or needle in (d / "environ").read_bytes():
                found.append(f"{pid} {_cmdline(pid)[:200]}")
        except OSError:
            continue
    return found


class Harness:
    """``harness VERB ...`` as a subprocess in its own session (as a shell runs a foreground job):
    its ``--json`` progress lines, and every process seen in its tree while it ran."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self._stderr = open(log, "w")  # noqa: SIM115 - closed in finish()
        self.proc = subprocess.Popen(
            [*HARNESS, *args], cwd=REPO, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self.started = time.monotonic()
        self.events: list[dict[str, Any]] = []
        self.seen: dict[int, str] = {}
        self.ended: float | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._reader.start()
        self._sampler.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.events.append({"type": "text", "line": line.rstrip()})

    def _sample(self) -> None:
        while self.proc.poll() is None:
            self.seen.update(_descendants(self.proc.pid))
            time.sleep(0.2)
        self.ended = time.monotonic()

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.log.read_text(errors="replace")[-4000:]

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float) -> T:
        deadline = time.monotonic() + timeout
        while True:
            got = probe()
            if got:
                return got
            if self.proc.poll() is not None:
                raise AssertionError(f"harness ended (rc={self.proc.returncode}) before {what}:\n{self.stderr()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}:\n{self.stderr()}")
            time.sleep(0.2)

    def module_running(self) -> bool:
        """An ansible module (or a command it started) is running in the harness's tree right now."""
        return any("ansible-tmp-" in _cmdline(pid) for pid in _descendants(self.proc.pid))

    def send(self, sig: signal.Signals) -> float:
        """SIGINT as a terminal sends Ctrl-C (to the foreground process group); other signals to the process."""
        if sig == signal.SIGINT:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)
        return time.monotonic()

    def finish(self, timeout: float) -> int:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"harness still running after {timeout:.0f}s:\n{self.stderr()}") from None
        self._sampler.join(timeout=5)
        self._reader.join(timeout=5)
        self._stderr.close()
        return rc

    def summary(self) -> dict[str, Any]:
        found = [e for e in self.events if e.get("type") == "summary"]
        assert found, f"no summary line; stderr:\n{self.stderr()}"
        return found[-1]

    def survivors(self, exclude: set[int]) -> list[str]:
        """Processes seen in the harness's tree that still live (same pid and start time)."""
        return [f"{pid} {_cmdline(pid)[:200]}" for pid, start in sorted(self.seen.items())
                if pid not in exclude and _start_time(pid) == start]  # fmt: skip

    def stop(self) -> None:
        """Whatever happens in a test: nothing of this run keeps running."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=30)
        for pid, start in self.seen.items():
            if _start_time(pid) == start:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if not self._stderr.closed:
            self._stderr.close()


# --- cluster ---------------------------------------------------------------------------------------


def _get(k8s: Any, path: str, **query: str) -> dict[str, Any]:
    params = k8s.param_serialize(method="GET", resource_path=path, query_params=list(query.items()),
                                 auth_settings=["BearerToken"])  # fmt: skip
    resp = k8s.call_api(*params, _request_timeout=30)
    resp.read()
    if resp.status != 200:
        raise AssertionError(f"GET {path}: HTTP {resp.status}")
    doc: dict[str, Any] = json.loads(resp.data)
    return doc


def labelled(k8s: Any, selector: str) -> list[str]:
    """Every object of every listable kind, cluster-wide, that matches the label selector."""
    group_versions = ["v1"] + [
        g["preferredVersion"]["groupVersion"] for g in _get(k8s, "/apis")["groups"] if g["name"] not in METRICS_GROUPS
    ]
    found: list[str] = []
    for gv in group_versions:
        base = "/api/v1" if gv == "v1" else f"/apis/{gv}"
        for res in _get(k8s, base)["resources"]:
            if "/" in res["name"] or "list" not in res.get("verbs", []):
                continue
            for item in _get(k8s, f"{base}/{res['name']}", labelSelector=selector).get("items") or []:
                meta = item.get("metadata") or {}
                where = f"{meta['namespace']}/" if meta.get("namespace") else ""
                found.append(f"{res['kind']}/{where}{meta.get('name')}")
    return found


def namespaces(k8s: Any, selector: str) -> list[str]:
    return [str(ns.metadata.name) for ns in client.CoreV1Api(k8s).list_namespace(label_selector=selector).items]


def remove_run_objects(lab: SimLab, run_id: str) -> None:
    proc = run_playbook("cleanup.yml", "-e", f"harness_run_id={run_id}", "-e", f"harness_kubeconfig={lab.kubeconfig}",
                        timeout=300)  # fmt: skip
    assert proc.returncode == 0, f"cleanup.yml for {run_id} failed:\n{tail(proc)}"


# --- the lab ---------------------------------------------------------------------------------------


def lab_health(lab: SimLab) -> dict[str, str]:
    return {c.name: c.state for c in read_components(lab.state_dir)}


@pytest.fixture
def lab_kept(lab: SimLab) -> Iterator[dict[str, str]]:
    """The lab's components, all running before the test; brought back by `harness up`'s playbook
    afterwards if any is not running then (whether the test passed or not)."""
    before = lab_health(lab)
    assert before and set(before.values()) == {"running"}, f"the lab is not healthy before the test: {before}"
    yield before
    after = lab_health(lab)
    if after != before:
        proc = run_playbook("up.yml", timeout=1800)
        assert proc.returncode == 0, f"restoring the lab (up.yml) failed:\n{tail(proc)}"
        assert lab_health(lab) == before


def _run_id(runs: Path) -> str | None:
    found = [d.name for d in runs.glob("*") if (d / "run.json").is_file()] if runs.is_dir() else []
    return found[0] if len(found) == 1 else None


def _events(h: Harness, kind: str) -> list[dict[str, Any]]:
    return [e for e in h.events if e.get("type") == "progress" and e.get("kind") == kind]


# --- SIGINT / SIGTERM during verify ----------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_verify_cleans_up(
    sig: signal.Signals, lab: SimLab, k8s: Any, lab_kept: dict[str, str], tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    h = Harness(["verify", "-i", str(INVENTORY), "--only", "ai_inference", "--run-dir", str(runs), "--json",
                 "--requirement-timeout", "120"], tmp_path / "verify.stderr")  # fmt: skip
    run_id = ""
    try:
        run_id = h.wait_for("the run directory", lambda: _run_id(runs), timeout=60)
        selector = f"{RUN_LABEL}={run_id}"
        # Inside the role, with something of the run's own on the cluster and a module at work.
        ns = h.wait_for("the role's namespace", lambda: namespaces(k8s, selector), timeout=120)
        h.wait_for("a running module", h.module_running, timeout=20)
        sent = h.send(sig)
        rc = h.finish(timeout=CLEANUP_LIMIT_S + 60)
        took = (h.ended or time.monotonic()) - sent
        exclude = _component_pids(lab)
        left_objects = labelled(k8s, selector)
        orphans = h.survivors(exclude)
        mentioning = processes_mentioning(str(runs / run_id), exclude)
    finally:
        h.stop()
        if run_id and namespaces(k8s, f"{RUN_LABEL}={run_id}"):
            remove_run_objects(lab, run_id)
    print(f"\n{sig.name} during verify: exit {rc} after {took:.1f}s; namespaces then: {ns}")
    assert rc == 3, h.stderr()
    assert took <= CLEANUP_LIMIT_S, f"the harness took {took:.1f}s to stop and clean up"
    assert left_objects == [], f"objects labelled {selector} left: {left_objects}"
    assert orphans == [], f"processes of the run still alive: {orphans}"
    assert mentioning == [], f"processes still carrying the run directory: {mentioning}"

    summary = h.summary()
    cleanup = summary["cleanup"]
    print(f"cleanup: {cleanup}")
    assert cleanup and cleanup["reached"] and cleanup["left"] == []
    assert set(f"Namespace/{n}" for n in ns) <= set(cleanup["deleted"])
    run = Run.load(runs / run_id)
    assert run.state == "partial" and run.interruption and run.interruption["reason"] == "canceled"
    ai = run.requirements["ai_inference"]
    assert ai.status is Status.NOT_IMPLEMENTED and ai.outcome is Outcome.ERROR, [(c.name, c.status) for c in ai.checks]
    assert not (runs / run_id / MARKER).exists()  # cleanup reached the cluster: nothing for the next run


# --- SIGINT / SIGTERM during up --------------------------------------------------------------------

#: where `up` is signalled: the first task after one finished (building), or the control plane's
#: processes being checked (harness.conformance.sim_process on the running kube-apiserver)
WHERE_IN_UP = {"build": "", "control plane": "Kube-apiserver | "}


@pytest.mark.parametrize(("sig", "where"), [(signal.SIGTERM, "build"), (signal.SIGINT, "control plane")],
                         ids=["SIGTERM-build", "SIGINT-control-plane"])  # fmt: skip
def test_signal_during_up_stops_cleanly(
    sig: signal.Signals, where: str, lab: SimLab, k8s: Any, lab_kept: dict[str, str], tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    h = Harness(["up", "-i", str(INVENTORY), "--run-dir", str(runs), "--json"], tmp_path / "up.stderr")
    try:
        # A role has started (a task of it finished) and a module of the task named is at work.
        prefix = WHERE_IN_UP[where]
        h.wait_for(f"a task {prefix!r}", lambda: [e for e in _events(h, "done") if e.get("task", "").startswith(prefix)],
                   timeout=180)  # fmt: skip
        h.wait_for("a running module", h.module_running, timeout=60)
        task = (_events(h, "task") or [{}])[-1].get("task", "")
        sent = h.send(sig)
        rc = h.finish(timeout=CLEANUP_LIMIT_S + 60)
        took = (h.ended or time.monotonic()) - sent
        run_dirs = [d for d in runs.iterdir() if d.is_dir()]
        exclude = _component_pids(lab)
        orphans = h.survivors(exclude)
        mentioning = [p for d in run_dirs for p in processes_mentioning(str(d), exclude)]
        run_ids = [d.name.removesuffix("-up") for d in run_dirs]
        left_objects = [o for r in run_ids for o in labelled(k8s, f"{RUN_LABEL}={r}")]
    finally:
        h.stop()
    print(f"\n{sig.name} during up ({where}: {task!r}, {h.started and sent - h.started:.0f}s in): "
          f"exit {rc} after {took:.1f}s")
    assert rc == 3, h.stderr()
    assert "up did not finish (canceled" in h.stderr()
    assert h.summary()["status"] == "canceled"
    assert took <= CLEANUP_LIMIT_S, f"the harness took {took:.1f}s to stop"
    assert orphans == [], f"processes of the run still alive: {orphans}"
    assert mentioning == [], f"processes still carrying the run directory: {mentioning}"
    assert left_objects == []
    # An interrupted `up` of a running lab leaves it running.
    assert lab_health(lab) == lab_kept


# --- the API server killed during verify -----------------------------------------------------------


def stop_component(lab: SimLab, name: str) -> None:
    """As `harness down` stops it (harness.conformance.sim_process state=absent: SIGTERM, then SIGKILL)."""
    bindir = Path(sys.executable).parent
    proc = subprocess.run(
        [str(bindir / "ansible"), "localhost", "-i", str(INVENTORY), "-m", "harness.conformance.sim_process",
         "-a", f"name={name} state=absent state_dir={lab.state_dir}"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_api_server_killed_during_verify(lab: SimLab, k8s: Any, lab_kept: dict[str, str], tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run_timeout = 300
    args = ["verify", "-i", str(INVENTORY), "--checklist", "v1.35", "--run-dir", str(runs), "--json",
            "--only", "dra_support,ai_inference,accelerator_metrics", "--timeout", str(run_timeout), "--serial",
            "--cluster-wait", "10", "-e", "verify_ai_inference_wait_timeout=20"]  # fmt: skip
    h = Harness(args, tmp_path / "verify.stderr")
    run_id, killed, stopped_at = "", False, 0.0
    try:
        run_id = h.wait_for("the run directory", lambda: _run_id(runs), timeout=60)
        # dra_support has reported; ai_inference (the next) has made its namespace: kill the API server.
        first = h.wait_for("dra_support's result", lambda: [e for e in _events(h, "result")
                                                             if e.get("requirement") == "dra_support"], timeout=240)  # fmt: skip
        sel = f"{RUN_LABEL}={run_id},harness.dev/requirement=ai_inference"
        ns = h.wait_for("ai_inference's namespace", lambda: namespaces(k8s, sel), timeout=120)
        stop_component(lab, "kube-apiserver")
        killed, stopped_at = True, time.monotonic()
        rc = h.finish(timeout=run_timeout + 60)
        took = (h.ended or time.monotonic()) - stopped_at
        whole = (h.ended or time.monotonic()) - h.started
        orphans = h.survivors(set())
    finally:
        h.stop()
        if killed:
            proc = run_playbook("up.yml", "--tags", "sim_control_plane", timeout=900)
            assert proc.returncode == 0, f"restoring kube-apiserver (up.yml --tags sim_control_plane) failed:\n{tail(proc)}"
    print(f"\nAPI server killed {stopped_at - h.started:.0f}s into the run: exit {rc} {took:.1f}s later "
          f"(whole run {whole:.0f}s of its {run_timeout}s timeout); dra_support said {first[-1].get('detail')}")
    assert rc == 3, h.stderr()
    assert whole < run_timeout, "the run had to be stopped by its own timeout"
    assert orphans == [], orphans
    run = Run.load(runs / run_id)
    assert run.state == "partial" and run.interruption and run.interruption["reason"] == "error", run.interruption
    assert "stopped answering during ai_inference" in run.interruption["message"], run.interruption
    got = {k: (str(v.status), str(v.outcome)) for k, v in run.requirements.items()}
    print(f"requirements: {got}")
    # What finished before is kept as the role reported it.
    dra = run.requirements["dra_support"]
    assert dra.outcome is not Outcome.ERROR and dra.outcome is not Outcome.MISSING, got
    # The role that was running is an error, never a pass; the one after it did not run.
    ai = run.requirements["ai_inference"]
    assert ai.status is Status.NOT_IMPLEMENTED and ai.outcome is Outcome.ERROR, [(c.name, c.status, c.observed) for c in ai.checks]
    assert any(c.name == "The cluster answered while verify_ai_inference ran" for c in ai.checks)
    assert run.requirements["accelerator_metrics"].outcome is Outcome.MISSING
    assert h.summary()["cleanup"] is None
    assert (runs / run_id / MARKER).is_file()

    # The API server is back; the broken run's namespace is still there (no one could delete it).
    selector = f"{RUN_LABEL}={run_id}"
    assert namespaces(k8s, selector) == ns
    # The next run (cluster_autoscaling: declared N/A on this lab, so no role runs) removes it first.
    nxt = Harness(["verify", "-i", str(INVENTORY), "--only", "cluster_autoscaling", "--run-dir", str(runs), "--json"],
                  tmp_path / "next.stderr")  # fmt: skip
    try:
        rc2 = nxt.finish(timeout=300)
    finally:
        nxt.stop()
        if namespaces(k8s, selector):
            remove_run_objects(lab, run_id)
    sweep = nxt.summary()["sweep"]
    print(f"next run: exit {rc2}, sweep {sweep}")
    assert rc2 == 0, nxt.stderr()
    assert sweep and sweep["runs"] == [run_id] and sweep["reached"] and sweep["left"] == []
    assert [f"Namespace/{n}" for n in ns] == [d for d in sweep["deleted"] if d.startswith("Namespace/")]
    assert labelled(k8s, selector) == []
    assert not (runs / run_id / MARKER).exists()
    nxt_run = Run.load(Path(nxt.summary()["run_dir"]))
    assert nxt_run.state == "complete"
