"""The only caller of ansible-runner: runs one playbook inside a run directory.

A run directory ``runs/<run-id>/`` holds ``ansible/`` (ansible-runner's private data dir and its
``artifacts/<ident>/``), ``logs/<ident>.log``, ``evidence/``, ``run.json`` and ``report/``.

Secrets: ansible-runner records the child's whole environment in ``artifacts/<ident>/command``
and, unless told not to, extravars/envvars under ``env/``. So the harness
- passes only paths (the kubeconfig path, never its contents) as extravars,
- sets ``suppress_env_files`` so nothing is written under ``env/``,
- withholds variables whose names look secret (tokens, passwords, keys) from ansible entirely,
  unless named in ``HARNESS_PASS_ENV`` (comma-separated), and
- rewrites the ``command`` artifact with every value outside a short allowlist redacted, and
- redacts every credential the inventory, a kubeconfig or the environment holds from the files
  of the run, its result data and its progress lines (:mod:`harness.credentials`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

#: Where playbooks/, roles/, collections/ and ansible.cfg live (the repository; HARNESS_HOME overrides).
PROJECT_ROOT = Path(os.environ.get("HARNESS_HOME") or Path(__file__).resolve().parent.parent)

REDACTED = "<redacted>"
_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSW|PASSPHRASE|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_?KEY|AUTH|SESSION|COOKIE|(^|_)KEY$",
    re.IGNORECASE,
)
#: Names whose values may be kept in the command artifact (never secrets, useful when debugging).
_SAFE_NAMES = {
    "PATH", "HOME", "LANG", "LANGUAGE", "TERM", "USER", "LOGNAME", "SHELL", "PWD", "TMPDIR", "TZ",
    "VIRTUAL_ENV", "KUBECONFIG", "SSH_AUTH_SOCK", "HARNESS_HOME", "HARNESS_CACHE", "PYTHONPATH",
    "PYTHONUNBUFFERED", "PYTHONIOENCODING",
}  # fmt: skip
_SAFE_PREFIXES = ("ANSIBLE_", "AWX_", "RUNNER_", "LC_", "JOB_")
_ALWAYS_PASS = {"SSH_AUTH_SOCK"}  # a socket path ansible's ssh connection needs


def is_secret_name(name: str) -> bool:
    return name not in _ALWAYS_PASS and bool(_SECRET_NAME.search(name))


def _safe_to_record(name: str) -> bool:
    if is_secret_name(name):
        return False
    return name in _SAFE_NAMES or name.startswith(_SAFE_PREFIXES)


def new_run_id(now: datetime | None = None) -> str:
    """``<UTC timestamp>-<short id>``: sorts by time, unique, valid as a Kubernetes label value."""
    t = now or datetime.now(timezone.utc)
    return f"{t:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def make_run_dir(base: Path, run_id: str) -> Path:
    d = base / run_id
    for sub in ("ansible", "logs", "evidence"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    return d


@dataclass
class ProgressEvent:
    """What a progress display needs from one ansible event."""

    kind: str  # play | task | done | requirement | result | failed | status
    play: str = ""
    task: str = ""
    requirement: str = ""
    host: str = ""
    status: str = ""
    detail: str = ""
    elapsed_s: float = 0.0
    duration_s: float | None = None  # of the task, on "done" events

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}


@dataclass
class EventSummary:
    counts: dict[str, int] = field(default_factory=dict)  # event name -> count
    plays: list[str] = field(default_factory=list)
    failed_tasks: list[str] = field(default_factory=list)  # "task: message", rescued or not
    last_task: str = ""


@dataclass
class PlaybookOutcome:
    status: str  # successful | failed | timeout | canceled | error
    rc: int
    artifact_data: dict[str, Any]
    events: EventSummary
    duration_s: float
    artifact_dir: Path
    log: Path
    withheld_env: list[str] = field(default_factory=list)
    message: str = ""
    #: the requirements whose roles were running when the playbook stopped early (none if it finished)
    interrupted_requirements: list[str] = field(default_factory=list)
    #: stopped by a KeyboardInterrupt rather than the cancel callback (skip further plays)
    aborted: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0


def merge(a: dict[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive dict merge, lists replaced: what ansible's aggregate set_stats does."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = dict(v) if isinstance(v, Mapping) else v
    return out


# Task names of playbooks/tasks/verify-requirement.yml. Each requirement runs on its own host, named by
# its id: its role runs from the "Start" task, after the gate let it in, until the cluster check that
# follows the role (its record is final by then, rescued errors included).
_START_TASK = "Verify | Start the role"
_NO_ROLE_TASK = "Verify | Note that the requirement has no role yet"
_AFTER_ROLE_TASK = "Verify | Check the cluster still answers after the role"
#: events that end a task on one host, and the status a "done" progress event reports for each
_TASK_END = {"runner_on_ok": "ok", "runner_on_skipped": "skipped", "runner_on_failed": "failed",
             "runner_on_unreachable": "unreachable"}  # fmt: skip


class _EventTracker:
    """Turns raw ansible-runner events into progress events and a summary; collects set_stats data."""

    def __init__(self, on_event: Callable[[ProgressEvent], None] | None, start: float) -> None:
        self.on_event = on_event
        self.start = start
        self.summary = EventSummary()
        self.final_data: dict[str, Any] | None = None
        self.collected: dict[str, Any] = {}  # aggregate set_stats seen so far (kept if the run stops)
        self.play = ""
        self.requirement = ""  # the requirement whose role started last
        self.running: dict[str, str] = {}  # host -> requirement, from its "Start" task to the check after the role
        self.hosts: set[str] = set()  # hosts that verify a requirement (each is named by its id)
        self.first_event_hook: Callable[[], None] | None = None

    def _emit(self, kind: str, **kw: Any) -> None:
        if self.on_event is None:
            return
        kw.setdefault("requirement", self.requirement)
        ev = ProgressEvent(kind=kind, play=self.play, elapsed_s=round(time.monotonic() - self.start, 1), **kw)
        try:
            self.on_event(ev)
        except Exception:  # noqa: BLE001 - a display problem must not stop a run
            self.on_event = None

    def interrupted_requirements(self) -> list[str]:
        """The requirements whose roles were running when the run stopped (the event stream ended, or
        the play was ended for every host), in the order they started."""
        return list(self.running.values())

    def __call__(self, event: dict[str, Any]) -> bool:
        if self.first_event_hook is not None:
            hook, self.first_event_hook = self.first_event_hook, None
            hook()
        name = str(event.get("event", ""))
        data = event.get("event_data") or {}
        counts = self.summary.counts
        counts[name] = counts.get(name, 0) + 1
        if name in _TASK_END:
            self._task_done(name, data)
        if name == "playbook_on_play_start":
            self.play = str(data.get("play", data.get("name", "")))
            self.summary.plays.append(self.play)
            self._emit("play")
        elif name == "playbook_on_task_start":
            task = str(data.get("task", data.get("name", "")))
            self.summary.last_task = task
        elif name == "runner_on_start":
            self._task_start(str(data.get("host", "")), str(data.get("task", "")))
        elif name == "runner_on_ok":
            self._role_started(str(data.get("host", "")), str(data.get("task", "")))
            if str(data.get("task", "")) == _NO_ROLE_TASK:
                host = str(data.get("host", ""))
                self._emit("result", requirement=host, detail="no role yet")
            stats = (data.get("res") or {}).get("ansible_stats")
            if isinstance(stats, dict) and not stats.get("per_host") and isinstance(stats.get("data"), dict):
                self.collected = merge(self.collected, stats["data"])
                for req_id, rec in (stats["data"].get("harness_results") or {}).items():
                    self._emit("result", requirement=str(req_id), detail=_check_counts(rec))
        elif name in ("runner_on_failed", "runner_on_unreachable"):
            res = data.get("res") or {}
            msg = str(res.get("msg", ""))[:300] if isinstance(res, dict) else ""
            task, host = str(data.get("task", "")), str(data.get("host", ""))
            self.summary.failed_tasks.append(f"{task}: {msg}" if msg else task)
            self._emit("failed", task=task, host=host, detail=msg, requirement=self._of(host),
                       status="ignored" if data.get("ignore_errors") else "failed")  # fmt: skip
        elif name == "playbook_on_stats":
            ad = data.get("artifact_data")
            self.final_data = dict(ad) if isinstance(ad, dict) else {}
        return True  # keep every event file: they are the run's raw record

    def _of(self, host: str) -> str:
        return host if host in self.hosts else ""

    def _task_start(self, host: str, task: str) -> None:
        if task == _START_TASK:
            self.hosts.add(host)
        elif task == _AFTER_ROLE_TASK:
            self.running.pop(host, None)
        self._emit("task", task=task, host=host, requirement=self._of(host))

    def _role_started(self, host: str, task: str) -> None:
        # on the Start task's result, not its start: a host the gate turned away skips it
        if task == _START_TASK:
            self.hosts.add(host)
            self.requirement = self.running[host] = host
            self._emit("requirement", host=host)

    def _task_done(self, name: str, data: dict[str, Any]) -> None:
        res = data.get("res")
        status = _TASK_END[name]
        if status == "ok" and isinstance(res, dict) and res.get("changed"):
            status = "changed"
        elif status == "failed" and data.get("ignore_errors"):
            status = "ignored"
        duration = data.get("duration")
        host = str(data.get("host", ""))
        self._emit("done", task=str(data.get("task", "")), host=host, status=status, requirement=self._of(host),
                   duration_s=round(float(duration), 1) if isinstance(duration, (int, float)) else None)  # fmt: skip


def _check_counts(rec: Any) -> str:
    if not isinstance(rec, dict):
        return ""
    n: dict[str, int] = {}
    for c in rec.get("checks") or []:
        s = str(c.get("status", "?")) if isinstance(c, dict) else "?"
        n[s] = n.get(s, 0) + 1
    return ", ".join(f"{v} {k}" for k, v in n.items()) or "no checks"


def scrub_command_artifact(artifact_dir: Path) -> None:
    """Rewrite ``command`` keeping argv and cwd; env values outside the allowlist are redacted."""
    path = artifact_dir / "command"
    if not path.is_file():
        return
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        path.unlink(missing_ok=True)  # unreadable: better gone than possibly holding secrets
        return
    env = doc.get("env") or {}
    doc["env"] = {k: (v if _safe_to_record(k) else REDACTED) for k, v in sorted(env.items())}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc), "utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)


def _proc_stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name (index 0 is field 3, the state)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _session(pid: int) -> int:
    f = _proc_stat(pid)
    return int(f[3]) if len(f) > 3 else 0


def _ansible_cmdline(cmd: bytes) -> bool:
    """ansible-playbook (and its workers, forks of it), or a module it runs from its temp directory
    (``~/.ansible/tmp/ansible-tmp-*/AnsiballZ_*.py``, async_wrapper's daemons included)."""
    return b"ansible-playbook" in cmd or b"/ansible-tmp-" in cmd


class _ProcessTree:
    """ansible-playbook and everything it started, remembered so that a stopped run leaves none behind.

    ansible-runner kills ansible-playbook's process group on cancel/timeout, but ansible's worker
    processes call setsid() and would live on (finishing, e.g., a long command) as orphans, and an
    ``async`` task's job is a daemon that never was in the tree. Every process ansible starts
    inherits ansible-runner's ``AWX_ISOLATED_DATA_DIR=<artifact dir>``, so those are found by their
    environment too. Spared: a daemon a module started on purpose in a session of its own (a lab
    component of ``harness.conformance.sim_process``; recorded, ``harness down`` stops it).
    """

    def __init__(self, artifact_dir: Path | None = None) -> None:
        self.last: dict[int, str] = {}  # pid -> start time (guards against pid reuse)
        self.marker = f"\0AWX_ISOLATED_DATA_DIR={artifact_dir}\0".encode() if artifact_dir else b""

    def snapshot(self, *, by_environment: bool = False) -> None:
        parent: dict[int, int] = {}
        for d in Path("/proc").glob("[0-9]*"):
            f = _proc_stat(int(d.name))
            if len(f) > 19:
                parent[int(d.name)] = int(f[1])
        # Descendants of this process, and of what was seen before and still lives: once
        # ansible-playbook is killed its workers are re-parented to init and still start modules.
        roots = [os.getpid()] + [p for p, start in self.last.items() if self._alive(p, start)]
        found: dict[int, str] = {p: self.last[p] for p in roots[1:]}
        todo = list(roots)
        while todo:
            p = todo.pop()
            for child, pp in parent.items():
                if pp == p and child not in found:
                    f = _proc_stat(child)
                    if len(f) > 19:
                        found[child] = f[19]
                        todo.append(child)
        if by_environment and self.marker:  # reads every process's environment: only when killing
            for child in parent:
                if child not in found and child != os.getpid() and self._marked(child):
                    f = _proc_stat(child)
                    if len(f) > 19:
                        found[child] = f[19]
        self.last = found

    def _marked(self, pid: int) -> bool:
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            return False
        return self.marker in b"\0" + env + b"\0"

    @staticmethod
    def _alive(pid: int, start: str) -> bool:
        f = _proc_stat(pid)
        return len(f) > 19 and f[19] == start and f[0] != "Z"

    @staticmethod
    def _daemon(pid: int) -> bool:
        """In a session whose (living) leader is not ansible's: started detached on purpose."""
        sid = _session(pid)
        if sid <= 0 or sid == os.getsid(0):
            return False
        leader = _proc_stat(sid)
        return bool(leader) and leader[0] != "Z" and not _ansible_cmdline(_cmdline(sid))

    def kill_leftovers(self) -> None:
        # Stop first (a stopped process starts nothing), look again for what was started in the
        # meantime, and kill once nothing new turns up.
        stopped: dict[int, str] = {}
        for _ in range(20):
            self.snapshot(by_environment=True)
            new = {p: s for p, s in self.last.items()
                   if p not in stopped and self._alive(p, s) and not self._daemon(p)}  # fmt: skip
            if not new:
                break
            for pid in new:
                try:
                    os.kill(pid, signal.SIGSTOP)
                except (ProcessLookupError, PermissionError):
                    pass
            stopped.update(new)
        for pid, start in stopped.items():
            if self._alive(pid, start):
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass


def build_envvars(roles_path: list[Path] | None = None) -> dict[str, str]:
    """Ansible settings for a run: this venv's ansible-playbook, the project's config, collections, roles."""
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    roles = [str(p.resolve()) for p in roles_path or []] + [str(PROJECT_ROOT / "roles")]
    return {
        "PATH": f"{bin_dir}{os.pathsep}{path}" if path else bin_dir,
        "ANSIBLE_CONFIG": str(PROJECT_ROOT / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(PROJECT_ROOT / "collections"),
        "ANSIBLE_ROLES_PATH": os.pathsep.join(roles),
        "ANSIBLE_NOCOLOR": "1",  # the stdout artifact doubles as the plain-text log
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
    }


def _controlled_env(env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    passed = {n.strip() for n in os.environ.get("HARNESS_PASS_ENV", "").split(",") if n.strip()}
    withheld = sorted(k for k in env if is_secret_name(k) and k not in passed)
    return {k: v for k, v in env.items() if k not in withheld}, withheld


def _inventory_arg(inventory: Path | None, private: Path) -> str:
    if inventory is not None:
        return str(inventory.resolve())
    # No lab: an empty inventory, so plays run on ansible's implicit localhost only.
    inv = private / "inventory" / "hosts.yml"
    inv.parent.mkdir(parents=True, exist_ok=True)
    inv.write_text("all:\n  hosts: {}\n", "utf-8")
    return str(inv)


def run_playbook(
    playbook: str | Path,
    inventory: Path | None,
    run_dir: Path,
    extravars: dict[str, Any],
    *,
    timeout: int | None = None,
    on_event: Callable[[ProgressEvent], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    ident: str | None = None,
    roles_path: list[Path] | None = None,
    verbosity: int = 0,
    forks: int | None = None,
) -> PlaybookOutcome:
    """Run ``playbooks/<playbook>`` (or an absolute path) against ``inventory`` in ``run_dir``.

    ``extravars`` must hold paths and plain values only: never secrets (they land in the
    command artifact's argv). Returns how it ended and the aggregate ``set_stats`` data (what the
    final ``playbook_on_stats`` event carried, or, when the run stopped early, what the
    ``set_stats`` tasks that did run reported).
    """
    from ansible_runner.interface import init_runner  # heavy import, only when a run happens

    pb = Path(playbook)
    if not pb.is_absolute():
        pb = PROJECT_ROOT / "playbooks" / pb
    ident = ident or pb.stem
    private = (run_dir / "ansible").resolve()
    private.mkdir(parents=True, exist_ok=True)
    artifact_dir = private / "artifacts" / ident
    log = run_dir / "logs" / f"{ident}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    from harness import credentials

    # a secret-named -e variable is one too: extravars land in the command artifact's argv
    found = credentials.collect(inventory, os.environ) | credentials.from_values(extravars)
    if found and on_event is not None:
        on_event = credentials.redacting(on_event, found)
    tracker = _EventTracker(on_event, start)
    tracker.first_event_hook = lambda: scrub_command_artifact(artifact_dir)

    def _status(data: dict[str, Any], runner_config: Any = None) -> None:
        if on_event is not None:
            on_event(ProgressEvent(kind="status", status=str(data.get("status", "")),
                                   elapsed_s=round(time.monotonic() - start, 1)))  # fmt: skip

    tree = _ProcessTree(artifact_dir)

    def _cancel() -> bool:
        # Called just before ansible-runner checks its timeout and kills: a fresh picture of the tree.
        tree.snapshot()
        return bool(cancel()) if cancel is not None else False

    withheld: list[str] = []
    status, rc, message, aborted = "error", -1, "", False
    try:
        runner = init_runner(
            private_data_dir=str(private),
            project_dir=str(pb.parent),
            playbook=str(pb),
            inventory=_inventory_arg(inventory, private),
            extravars={"harness_python": sys.executable, **extravars},
            envvars=build_envvars(roles_path),
            ident=ident,
            timeout=timeout,
            verbosity=verbosity or None,
            forks=forks,
            quiet=True,
            suppress_env_files=True,
            event_handler=tracker,
            status_handler=_status,
            cancel_callback=_cancel,
            ignore_logging=True,
        )
        runner.config.env, withheld = _controlled_env(runner.config.env)
        runner.run()
        status, rc = str(runner.status), int(runner.rc if runner.rc is not None else -1)
    except Exception as e:  # noqa: BLE001 - anything here means the harness could not run ansible
        status, message = "error", f"{type(e).__name__}: {e}"
    except KeyboardInterrupt:
        # Aborted (a second Ctrl-C): ansible-playbook runs in its own session, so stop it here,
        # and still hand back what was collected.
        tree.snapshot()
        status, aborted, message = "canceled", True, "aborted at once (second Ctrl-C)"
    finally:
        if aborted or status in ("canceled", "timeout"):
            tree.kill_leftovers()
        scrub_command_artifact(artifact_dir)
        stdout = artifact_dir / "stdout"
        if stdout.is_file():
            log.write_text(stdout.read_text("utf-8", errors="replace"), "utf-8")
        credentials.scrub_tree(run_dir, found)  # whatever a role printed, saved or failed with
    data = tracker.final_data if tracker.final_data is not None else tracker.collected
    data = credentials.redact_data(data, found)
    summary = credentials.redact_data(asdict(tracker.summary), found)
    tracker.summary = EventSummary(**summary)
    message = credentials.redact(message, found)
    if status == "failed" and rc == 127 and not message:
        message = "ansible-playbook was not found or could not run (see the log)"
    return PlaybookOutcome(
        status=status,
        rc=rc,
        artifact_data=data,
        events=tracker.summary,
        duration_s=round(time.monotonic() - start, 2),
        artifact_dir=artifact_dir,
        log=log,
        withheld_env=withheld,
        message=message,
        interrupted_requirements=tracker.interrupted_requirements(),
        aborted=aborted,
    )
