#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Supervise one local process of the simulated lab (start detached, record, health-wait, stop)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sim_process
short_description: Start, record, health-check and stop a local process of the simulated lab
version_added: "0.1.0"
description:
  - Starts a command as a detached process (its own session, stdin from C(/dev/null), stdout and
    stderr appended to a log file) and records it in C(<state_dir>/components/<name>.json) with
    the keys C(name), C(pid), C(version), C(endpoint), C(health_url), C(log), C(cmdline) and
    C(started) (plus C(spec_hash), C(starttime) and C(netns), used for idempotence).
  - Waits, polling with backoff, until O(health_url) answers. If the process exits or the wait
    times out, the module fails and the error message ends with the tail of the process log.
  - Idempotent. If the recorded process is alive, is the same process (same PID and kernel start
    time, so a recycled PID is never mistaken for it) and was started from the same specification (command, environment, network
    namespace, working directory and the content of O(watch_files)), nothing is done and
    C(changed) is false. If the specification differs, the old process is stopped and a new one
    started. If only O(version), O(endpoint) or O(health_url) differ, the record is updated
    without a restart.
  - Before starting, every port in O(ports) must be free on the host. A port that is in use fails
    the task with the holder's PID and command when they can be found.
  - O(state=absent) stops the recorded process (SIGTERM to its process group, SIGKILL after
    O(stop_timeout) seconds) and removes the record. With O(name=*) every recorded component under
    O(state_dir) is stopped at once, which is what lab teardown uses.
  - A process that does not become healthy is stopped; its record stays (so status shows it dead)
    until the next successful start or O(state=absent).
  - Linux only (reads C(/proc)).
options:
  name:
    description:
      - Component name; the record is C(<state_dir>/components/<name>.json) and the default log
        C(<state_dir>/logs/<name>.log).
      - With O(state=absent), V(*) means every recorded component.
    type: str
    required: true
  state:
    description: Whether the process should run (V(present)) or be stopped and forgotten (V(absent)).
    type: str
    choices: [present, absent]
    default: present
  state_dir:
    description: The lab state directory (the inventory's C(sim_lab_state_dir)).
    type: path
    required: true
  command:
    description:
      - Program and arguments, as a list (no shell). Required with O(state=present).
      - The program is resolved against C(PATH) when it is not a path.
    type: list
    elements: str
  env:
    description: Extra environment variables for the process (added to the module's environment).
    type: dict
    default: {}
  chdir:
    description: Working directory of the process (default O(state_dir)).
    type: path
  netns:
    description:
      - Run the process inside this network namespace (C(ip netns exec <netns> ...)). The
        namespace must exist. Ports in O(ports) are not checked on the host for such a process.
    type: str
  log:
    description: Log file (appended to). Default C(<state_dir>/logs/<name>.log).
    type: path
  version:
    description: Version string stored in the record (shown by C(harness status)).
    type: str
    default: ""
  endpoint:
    description: The address clients use (stored in the record), e.g. C(https://127.0.0.1:16443).
    type: str
    default: ""
  health_url:
    description:
      - How to tell that the process is ready. V(http://...) or V(https://...) (a GET that must
        answer with a status in O(health_status)), or V(tcp://host:port) (a TCP connect).
      - Empty means the process only has to stay alive for O(health_grace) seconds.
    type: str
    default: ""
  health_status:
    description: HTTP statuses that count as healthy.
    type: list
    elements: int
    default: [200]
  health_ca_file:
    description: CA bundle to verify an https O(health_url) against.
    type: path
  health_client_cert:
    description: Client certificate (PEM) presented to an https O(health_url).
    type: path
  health_client_key:
    description: Key of O(health_client_cert).
    type: path
  health_validate_certs:
    description: Verify the server certificate of an https O(health_url) (ignored when O(health_ca_file) is set).
    type: bool
    default: true
  health_timeout:
    description: Seconds to wait for the process to become healthy.
    type: float
    default: 60
  health_grace:
    description: Seconds the process must stay alive when O(health_url) is empty.
    type: float
    default: 1
  ports:
    description:
      - Ports (V(PORT) meaning 127.0.0.1, or V(HOST:PORT)) that must be free before the process is
        started. Default is the port of O(health_url) when it points at this host and O(netns)
        is not set.
    type: list
    elements: str
  watch_files:
    description:
      - Files whose content is part of the specification (configuration files the process reads),
        so that changing one restarts the process.
    type: list
    elements: path
    default: []
  stop_timeout:
    description: Seconds between SIGTERM and SIGKILL when stopping.
    type: float
    default: 10
notes:
  - Supports check mode (reports what would change, starts and stops nothing).
  - Secrets must not be passed on the command line, which is recorded; use files or O(env).
    O(env) values are hashed, never recorded.
author:
  - harness developers
"""

EXAMPLES = r"""
- name: Etcd | run
  harness.conformance.sim_process:
    name: etcd
    state_dir: "{{ sim_lab_state_dir }}"
    version: v3.6.16
    command:
      - /root/.cache/harness/bin/etcd-v3.6.16/etcd
      - --data-dir={{ sim_lab_state_dir }}/etcd
      - --listen-client-urls=http://127.0.0.1:12379
      - --advertise-client-urls=http://127.0.0.1:12379
    endpoint: http://127.0.0.1:12379
    health_url: http://127.0.0.1:12379/health

- name: Kube-apiserver | run
  harness.conformance.sim_process:
    name: kube-apiserver
    state_dir: "{{ sim_lab_state_dir }}"
    command: "{{ apiserver_argv }}"
    health_url: https://127.0.0.1:16443/readyz
    health_ca_file: "{{ sim_lab_state_dir }}/pki/ca.crt"
    health_timeout: 120

- name: Model server | run inside the lab's network namespace
  harness.conformance.sim_process:
    name: model-server-a
    state_dir: "{{ sim_lab_state_dir }}"
    netns: harness-sim
    command: ["{{ ansible_playbook_python }}", -m, http.server, "8001", --bind, 10.250.0.2]
    health_url: tcp://10.250.0.2:8001

- name: Lab | stop every component
  harness.conformance.sim_process:
    name: "*"
    state: absent
    state_dir: "{{ sim_lab_state_dir }}"
    stop_timeout: 5
"""

RETURN = r"""
pid:
  description: PID of the running process (absent after O(state=absent)).
  returned: state is present
  type: int
  sample: 12345
record:
  description: The component record as written to C(<state_dir>/components/<name>.json).
  returned: state is present
  type: dict
  sample: {"name": "etcd", "pid": 12345, "version": "v3.6.16", "endpoint": "http://127.0.0.1:12379",
           "health_url": "http://127.0.0.1:12379/health", "log": "/state/logs/etcd.log",
           "cmdline": ["etcd", "--data-dir=/state/etcd"], "started": "2026-11-23T15:00:00+00:00"}
restarted:
  description: True when a running process was replaced because its specification changed.
  returned: state is present
  type: bool
log:
  description: Path of the process log.
  returned: state is present
  type: str
stopped:
  description: Names of the components that were stopped (O(state=absent)).
  returned: state is absent
  type: list
  elements: str
killed:
  description: Names of the components that needed SIGKILL (O(state=absent)).
  returned: state is absent
  type: list
  elements: str
"""

import datetime
import errno
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule

LOG_TAIL_LINES = 40


# --------------------------------------------------------------------------- /proc helpers


def _proc_starttime(pid: int) -> Optional[int]:
    """Kernel start time of pid (clock ticks since boot), or None if gone or a zombie."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as fh:
            raw = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after its closing ')'.
    rest = raw[raw.rfind(")") + 2:].split()
    if not rest or rest[0] in ("Z", "X"):
        return None
    return int(rest[19])


def _proc_cmdline(pid: int) -> Optional[List[str]]:
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0")[:-1]]


def _is_ours(record: Dict[str, Any]) -> bool:
    """The recorded process still runs and is the same process, not a recycled PID.

    Identity is (pid, kernel start time): it survives exec (shebang scripts, shims, `ip netns
    exec`), which a comparison of /proc/<pid>/cmdline would not.
    """
    pid = int(record.get("pid") or 0)
    if pid <= 0:
        return False
    start = _proc_starttime(pid)
    if start is None:
        return False
    if record.get("starttime") is not None:
        return int(record["starttime"]) == start
    return _proc_cmdline(pid) == list(record.get("cmdline") or [])


def _port_holder(host: str, port: int) -> str:
    """Best effort: 'pid N (cmd)' of the process listening on port, '' if unknown."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as fh:
                next(fh)
                for line in fh:
                    cols = line.split()
                    # state 0A is LISTEN; local address is HEXIP:HEXPORT
                    if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(cols[9])
        except (OSError, StopIteration):
            continue
    if not inodes:
        return ""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % entry):
                target = os.readlink("/proc/%s/fd/%s" % (entry, fd))
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    cmd = " ".join(_proc_cmdline(int(entry)) or [])[:120]
                    return "pid %s (%s)" % (entry, cmd)
        except OSError:
            continue
    return ""


def _port_in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        return exc.errno == errno.EADDRINUSE
    finally:
        sock.close()
    return False


def _parse_port(spec: str) -> Tuple[str, int]:
    if spec.isdigit():
        return "127.0.0.1", int(spec)
    host, _, port = spec.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


# --------------------------------------------------------------------------- records and logs


def _record_path(state_dir: str, name: str) -> str:
    return os.path.join(state_dir, "components", name + ".json")


def _read_record(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_record(path: str, record: Dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(record, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)


def _log_tail(path: str, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 16384))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return "(no log at %s)" % path
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(log %s is empty)" % path


def _spec_hash(argv: List[str], env: Dict[str, str], netns: str, chdir: str, watch: List[str]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([argv, sorted(env.items()), netns, chdir]).encode())
    for path in watch:
        digest.update(path.encode())
        try:
            with open(path, "rb") as fh:
                digest.update(hashlib.sha256(fh.read()).digest())
        except OSError:
            digest.update(b"<missing>")
    return digest.hexdigest()


# --------------------------------------------------------------------------- health


def _health_once(url: str, ctx: Optional[ssl.SSLContext], statuses: List[int]) -> Tuple[bool, str]:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "tcp":
        try:
            with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), timeout=2):
                return True, "connected"
        except OSError as exc:
            return False, str(exc)
    try:
        with urllib.request.urlopen(url, timeout=5, context=ctx) as resp:  # noqa: S310 (local URLs only)
            code = resp.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
        return False, str(getattr(exc, "reason", exc))
    return code in statuses, "HTTP %d" % code


def _ssl_context(params: Dict[str, Any]) -> Optional[ssl.SSLContext]:
    if not params["health_url"].startswith("https://"):
        return None
    ctx = ssl.create_default_context(cafile=params["health_ca_file"]) if params["health_ca_file"] \
        else ssl.create_default_context()
    if not params["health_ca_file"] and not params["health_validate_certs"]:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if params["health_client_cert"]:
        ctx.load_cert_chain(params["health_client_cert"], params["health_client_key"])
    return ctx


def _wait_healthy(params: Dict[str, Any], record: Dict[str, Any]) -> Tuple[bool, str]:
    """Poll with backoff until healthy; stop early if the process dies."""
    url = params["health_url"]
    deadline = time.monotonic() + params["health_timeout"]
    if not url:
        time.sleep(params["health_grace"])
        return (True, "alive") if _is_ours(record) else (False, "process exited")
    ctx = _ssl_context(params)
    delay, last = 0.05, "not tried"
    while True:
        if not _is_ours(record):
            return False, "process exited before it became healthy (last probe: %s)" % last
        ok, last = _health_once(url, ctx, params["health_status"])
        if ok:
            return True, last
        if time.monotonic() >= deadline:
            return False, "not healthy after %.0fs (last probe of %s: %s)" % (params["health_timeout"], url, last)
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)


# --------------------------------------------------------------------------- start / stop


def _signal(record: Dict[str, Any], sig: int) -> None:
    pid = int(record["pid"])
    try:
        # The process leads its own session/group: signal the group so helpers it forked go too.
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _stop_many(records: List[Dict[str, Any]], timeout: float) -> Tuple[List[str], List[str]]:
    """SIGTERM all at once, wait up to timeout, SIGKILL stragglers.

    Returns (names that needed SIGKILL, names still alive after it).
    """
    alive = [r for r in records if _is_ours(r)]
    for rec in alive:
        _signal(rec, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [r for r in alive if _is_ours(r)]
    killed = [str(r.get("name")) for r in alive]
    for rec in alive:
        _signal(rec, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [r for r in alive if _is_ours(r)]
    return killed, [str(r.get("name")) for r in alive]


def _resolve(argv: List[str], env: Dict[str, str]) -> List[str]:
    if os.sep in argv[0]:
        return argv
    found = shutil.which(argv[0], path=env.get("PATH"))
    return [found] + argv[1:] if found else argv


def _start(module: AnsibleModule, params: Dict[str, Any], argv: List[str], env: Dict[str, str],
           log: str, chdir: str) -> Tuple[int, int]:
    spawn = argv
    if params["netns"]:
        ip = shutil.which("ip") or "/usr/sbin/ip"
        spawn = [ip, "netns", "exec", params["netns"]] + argv
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "ab") as out:
        out.write(("\n--- %s starting: %s\n" % (_now(), " ".join(argv))).encode())
        out.flush()
        try:
            proc = subprocess.Popen(  # noqa: S603 (argv list, no shell)
                spawn, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=chdir, env=env, start_new_session=True, close_fds=True)
        except OSError as exc:
            module.fail_json(msg="%s: cannot start %s: %s" % (params["name"], argv[0], exc), log=log)
    start = _proc_starttime(proc.pid)
    if proc.poll() is not None or start is None:
        module.fail_json(msg="%s exited at once (rc=%s). Last lines of %s:\n%s"
                         % (params["name"], proc.returncode, log, _log_tail(log)), log=log)
    return proc.pid, int(start or 0)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _present(module: AnsibleModule) -> None:
    p = module.params
    state_dir, name = p["state_dir"], p["name"]
    if not p["command"]:
        module.fail_json(msg="%s: command is required with state=present" % name)
    env = dict(os.environ)
    env.update({k: str(v) for k, v in (p["env"] or {}).items()})
    argv = _resolve([str(a) for a in p["command"]], env)
    chdir = p["chdir"] or state_dir
    log = p["log"] or os.path.join(state_dir, "logs", name + ".log")
    spec = _spec_hash(argv, {k: str(v) for k, v in (p["env"] or {}).items()}, p["netns"] or "", chdir,
                      p["watch_files"])
    path = _record_path(state_dir, name)
    old = _read_record(path)
    restarted = False
    if old and _is_ours(old):
        if old.get("spec_hash") == spec:
            ok, why = _wait_healthy(p, old)
            if not ok:
                module.fail_json(msg="%s (pid %s) runs but is unhealthy: %s. Last lines of %s:\n%s"
                                 % (name, old["pid"], why, log, _log_tail(log)), record=old, log=log)
            # Descriptive fields may change without a restart: update the record only.
            meta = {"version": p["version"], "endpoint": p["endpoint"], "health_url": p["health_url"]}
            stale = any(old.get(k) != v for k, v in meta.items())
            if stale and not module.check_mode:
                old.update(meta)
                _write_record(path, old)
            module.exit_json(changed=stale, pid=old["pid"], record=old, restarted=False, log=log)
        if module.check_mode:
            module.exit_json(changed=True, restarted=True, log=log)
        _stop_many([old], p["stop_timeout"])
        restarted = True
    if module.check_mode:
        module.exit_json(changed=True, restarted=False, log=log)

    ports = p["ports"]
    if ports is None:
        ports = []
        parsed = urllib.parse.urlparse(p["health_url"] or "")
        if parsed.port and parsed.hostname in ("127.0.0.1", "localhost", "::1") and not p["netns"]:
            ports = [str(parsed.port)]
    if p["netns"]:
        ports = []
    for spec_port in ports:
        host, port = _parse_port(spec_port)
        if _port_in_use(host, port):
            holder = _port_holder(host, port)
            module.fail_json(msg="%s: port %s:%d is already in use%s. Stop whatever holds it, or give "
                                 "the component another port in the inventory."
                                 % (name, host, port, " by " + holder if holder else ""))
    if p["netns"] and not os.path.exists(os.path.join("/run/netns", p["netns"])):
        module.fail_json(msg="%s: network namespace %s does not exist (ip netns add needs root/CAP_SYS_ADMIN)"
                         % (name, p["netns"]))

    os.makedirs(chdir, exist_ok=True)
    pid, start = _start(module, p, argv, env, log, chdir)
    record = {
        "name": name, "pid": pid, "version": p["version"], "endpoint": p["endpoint"],
        "health_url": p["health_url"], "log": log, "cmdline": argv, "started": _now(),
        "starttime": start, "spec_hash": spec, "netns": p["netns"] or "",
    }
    _write_record(path, record)
    ok, why = _wait_healthy(p, record)
    if not ok:
        # An unhealthy process is stopped (the record stays, so status shows it as dead and the
        # next run starts it afresh).
        _stop_many([record], min(p["stop_timeout"], 5))
        module.fail_json(msg="%s did not become healthy: %s. Last lines of %s:\n%s"
                         % (name, why, log, _log_tail(log)), record=record, log=log)
    module.exit_json(changed=True, pid=pid, record=record, restarted=restarted, log=log)


def _absent(module: AnsibleModule) -> None:
    p = module.params
    comp_dir = os.path.join(p["state_dir"], "components")
    if p["name"] == "*":
        names = sorted(f[:-5] for f in os.listdir(comp_dir) if f.endswith(".json")) \
            if os.path.isdir(comp_dir) else []
    else:
        names = [p["name"]] if os.path.exists(_record_path(p["state_dir"], p["name"])) else []
    if not names:
        module.exit_json(changed=False, stopped=[], killed=[])
    if module.check_mode:
        module.exit_json(changed=True, stopped=names, killed=[])
    records = [r for r in (_read_record(_record_path(p["state_dir"], n)) for n in names) if r]
    running = [str(r.get("name")) for r in records if _is_ours(r)]
    killed, survivors = _stop_many(records, p["stop_timeout"])
    if survivors:
        module.fail_json(msg="could not stop: %s" % ", ".join(survivors), stopped=running, killed=killed)
    for name in names:
        try:
            os.remove(_record_path(p["state_dir"], name))
        except FileNotFoundError:
            pass
    module.exit_json(changed=True, stopped=running, killed=killed)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            state_dir=dict(type="path", required=True),
            command=dict(type="list", elements="str"),
            env=dict(type="dict", default={}),
            chdir=dict(type="path"),
            netns=dict(type="str"),
            log=dict(type="path"),
            version=dict(type="str", default=""),
            endpoint=dict(type="str", default=""),
            health_url=dict(type="str", default=""),
            health_status=dict(type="list", elements="int", default=[200]),
            health_ca_file=dict(type="path"),
            health_client_cert=dict(type="path"),
            health_client_key=dict(type="path"),
            health_validate_certs=dict(type="bool", default=True),
            health_timeout=dict(type="float", default=60),
            health_grace=dict(type="float", default=1),
            ports=dict(type="list", elements="str"),
            watch_files=dict(type="list", elements="path", default=[]),
            stop_timeout=dict(type="float", default=10),
        ),
        required_if=[("state", "present", ["command"])],
        required_together=[("health_client_cert", "health_client_key")],
        supports_check_mode=True,
    )
    if module.params["name"] != "*" and ("/" in module.params["name"] or module.params["name"].startswith(".")):
        module.fail_json(msg="name must be a plain component name, got %r" % module.params["name"])
    if module.params["state"] == "present":
        if module.params["name"] == "*":
            module.fail_json(msg="name=* is only valid with state=absent")
        _present(module)
    else:
        _absent(module)


if __name__ == "__main__":
    main()
