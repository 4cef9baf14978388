# Copyright: harness developers; Apache-2.0
"""Where a verify role's evidence goes and how it is written, secrets redacted.

Shared by the ``harness.conformance.evidence`` module and its action plugin (which writes on the
controller, without shipping a module, when the connection is local).

A role that opens its requirement's step ledger (``state: opened``) no longer keeps lists of its
checks and files: every write appends what it wrote to the ledger, and ``harness.conformance.emit``
collects it (``state: collected``). The ledger lives next to the evidence directory, never in it,
so it never reaches the bundle a reviewer checks.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import yaml

# libyaml's emitter when PyYAML has it: the same YAML (long quoted strings may fold at other places)
# three times faster; a role's evidence of 100 ResourceSlices took 0.6 s with the pure-Python one.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

REDACTED = "<redacted>"
_SECRET_KEY = re.compile(
    r"(token|password|passwd|secret|private[-_]?key|client[-_]key|key[-_]data|bearer|credential)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_REQUIREMENT_ID = re.compile(r"[a-z][a-z0-9_]*")
_STATUS_MARK = {"pass": "✓", "fail": "✗", "error": "!", "skip": "-"}
NOTEBOOK = "output.md"

LEDGER_DIR = "steps"
#: how many objects of a list an evidence file keeps by default (the option max_objects)
MAX_OBJECTS = 100
STATES = ("written", "opened", "collected")
#: what a ``step`` may carry (a filter that judges a step returns such a mapping)
STEP_KEYS = ("title", "command", "output", "checks", "files", "facts")

#: the options of harness.conformance.evidence (module and action plugin)
ARGUMENT_SPEC: dict[str, Any] = dict(
    evidence_dir=dict(type="path", required=True),
    requirement=dict(type="str", required=True),
    state=dict(type="str", default="written", choices=list(STATES)),
    file=dict(type="str"),
    data=dict(type="raw"),
    files=dict(type="list", elements="dict", default=[]),
    title=dict(type="str"),
    command=dict(type="str"),
    output=dict(type="raw"),
    checks=dict(type="list", elements="dict", default=[]),
    step=dict(type="dict"),
    facts=dict(type="raw"),
    max_objects=dict(type="int", default=MAX_OBJECTS),
)
REQUIRED_BY = {"file": ("data",)}


class EvidenceError(ValueError):
    """A request that would write outside the requirement's evidence directory."""


def redact(value: Any) -> Any:
    """A copy of value with every credential-looking field replaced."""
    if isinstance(value, dict):
        is_secret = value.get("kind") == "Secret"
        out = {}
        for k, v in value.items():
            if (is_secret and k in ("data", "stringData")) or (
                isinstance(k, str) and _SECRET_KEY.search(k) and not isinstance(v, (dict, list))
            ):
                out[k] = REDACTED
            else:
                out[k] = redact(v)
        return out
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _BEARER.sub(r"\1" + REDACTED, value)
    return value


def _plain(value: Any) -> Any:
    """value as a module would have received it through JSON: plain types (yaml.safe_dump refuses
    Ansible's str and dict subclasses), tuples as lists, keys as strings."""
    if isinstance(value, dict):
        return {(str(k) if isinstance(k, str) else json.dumps(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _without_managed_fields(value: Any) -> Any:
    """value without any object's metadata.managedFields: who wrote which field says nothing a reviewer
    checks, and it doubles the size of every object saved."""
    if isinstance(value, dict):
        return {k: _without_managed_fields(v) for k, v in value.items()
                if not (k == "managedFields" and isinstance(v, list) and "name" in value)}  # fmt: skip
    if isinstance(value, (list, tuple)):
        return [_without_managed_fields(v) for v in value]
    return value


def render(value: Any) -> str:
    value = _plain(redact(_without_managed_fields(value)))
    if isinstance(value, str):
        return value if value.endswith("\n") else value + "\n"
    return str(yaml.dump(value, Dumper=_DUMPER, sort_keys=False, default_flow_style=False, allow_unicode=True))


def section(title: str, command: str | None, output: Any, checks: list[dict[str, Any]]) -> str:
    """One notebook section: heading, the equivalent command, its output, one line per check."""
    lines = [f"## {title}", ""]
    if command:
        lines += [f"Equivalent: `{command}`", ""]
    if output is not None and output != "":
        lines += ["```", render(output).rstrip("\n"), "```", ""]
    for c in checks:
        mark = _STATUS_MARK.get(str(c.get("status")), "?")
        line = f"- {mark} {c.get('name')} ({c.get('status')})"
        if "expected" in c or "observed" in c:
            line += f": expected {c.get('expected', '')!s}, observed {c.get('observed', '')!s}"
        lines.append(str(redact(line)))
    return "\n".join(lines).rstrip("\n") + "\n\n"


def _step_args(args: dict[str, Any]) -> dict[str, Any]:
    """The options with a ``step`` mapping spread into them (a step and the same option both given is an error)."""
    step = args.get("step")
    if not step:
        return dict(args)
    unknown = sorted(set(step) - set(STEP_KEYS))
    if unknown:
        raise EvidenceError(f"step has unknown keys {', '.join(map(str, unknown))} (known: {', '.join(STEP_KEYS)})")
    out = dict(args)
    for key in STEP_KEYS:
        if key not in step:
            continue
        if args.get(key) not in (None, [], ""):
            raise EvidenceError(f"'{key}' is given both as an option and in step")
        out[key] = step[key]
    return out


def perform(args: dict[str, Any], write: bool) -> dict[str, Any]:
    """Do what the validated options of harness.conformance.evidence ask; the task's result.

    - ``state: opened`` starts the requirement's ledger afresh;
    - ``state: collected`` returns the ledger's checks and files and removes it;
    - otherwise writes ``files`` (and ``file``/``data``), then the notebook section when there is a
      ``title``; ``facts`` come back as they are given (a judged step's values for later tasks).
    """
    args = _step_args(args)
    place = Place(args["evidence_dir"], args["requirement"])
    if args["state"] == "opened":
        place.open_ledger()
        return {"changed": False, "ledger": place.ledger}
    if args["state"] == "collected":
        checks, evidence = place.collect_ledger()
        return {"changed": False, "checks": checks, "evidence": evidence}
    files = list(args.get("files") or [])
    if args.get("file"):
        files.append({"name": args["file"], "data": args.get("data")})
    if not files and not args.get("title"):
        raise EvidenceError("one of file, files, title or step (with a title or files) is required")
    paths = []
    for i, f in enumerate(files):
        if not isinstance(f, dict) or not f.get("name") or "data" not in f:
            raise EvidenceError(f"files item #{i + 1} needs a name and data")
        limit = f.get("max_objects", args.get("max_objects", MAX_OBJECTS))
        paths.append(place.save(str(f["name"]), f["data"], write, int(limit), f.get("total")))
    checks = list(args.get("checks") or [])
    if args.get("title"):
        paths.append(place.note(str(args["title"]), args.get("command"), args.get("output"), checks, write))
    place.append_ledger(paths, checks)
    result: dict[str, Any] = {"changed": True, "path": paths[-1], "paths": paths, "checks": checks}
    if args.get("facts") is not None:
        result["facts"] = args["facts"]
    return result


class Place:
    """The evidence directory of one requirement of a run."""

    def __init__(self, evidence_dir: str, requirement: str) -> None:
        if not _REQUIREMENT_ID.fullmatch(requirement or ""):
            raise EvidenceError(f"requirement '{requirement}' is not a requirement id")
        self.evidence_dir = os.path.abspath(os.path.expanduser(evidence_dir))
        self.requirement = requirement
        self.base = os.path.join(self.evidence_dir, requirement)

    @property
    def ledger(self) -> str:
        """The step ledger of this requirement: next to the evidence directory, not in it."""
        return os.path.join(os.path.dirname(self.evidence_dir), LEDGER_DIR, f"{self.requirement}.jsonl")

    def open_ledger(self) -> None:
        """Start the ledger afresh: a role opens it before its first step (it is bookkeeping of the
        run, kept in check mode too)."""
        os.makedirs(os.path.dirname(self.ledger), exist_ok=True)
        with open(self.ledger, "w", encoding="utf-8"):
            pass

    def append_ledger(self, paths: list[str], checks: list[dict[str, Any]]) -> None:
        """Add one write to the ledger when the role opened one (roles that keep their own lists do not)."""
        if not os.path.exists(self.ledger):
            return
        with open(self.ledger, "a", encoding="utf-8") as f:
            f.write(json.dumps({"evidence": paths, "checks": _plain(checks)}, ensure_ascii=False, default=str) + "\n")

    def collect_ledger(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The checks and files of every step written since the ledger was opened, in order; the
        ledger is removed, so a rescue that collects again gets nothing twice."""
        checks: list[dict[str, Any]] = []
        evidence: list[str] = []
        try:
            with open(self.ledger, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return checks, evidence
        for line in lines:
            if not line.strip():
                continue
            step = json.loads(line)
            checks += step.get("checks") or []
            evidence += [p for p in step.get("evidence") or [] if p not in evidence]
        os.remove(self.ledger)
        try:
            os.rmdir(os.path.dirname(self.ledger))
        except OSError:
            pass  # another requirement's ledger is still open
        return checks, evidence

    def target(self, name: str) -> tuple[str, str]:
        """(absolute path, path relative to the run directory) of a file of this requirement."""
        target = os.path.normpath(os.path.join(self.base, name))
        if not target.startswith(self.base + os.sep):
            raise EvidenceError(f"evidence file '{name}' escapes the requirement's directory")
        return target, os.path.relpath(target, os.path.dirname(self.evidence_dir))

    def save(self, name: str, data: Any, write: bool = True, max_objects: int = 0, total: int | None = None) -> str:
        """Write one file (YAML for structured data, text for strings); its run-relative path.

        A list longer than ``max_objects`` (when above 0) keeps its first ``max_objects`` items, under a
        comment that says so: a 500-node lab's 500 ResourceSlices are megabytes that say nothing the
        first hundred do not, and writing them took a role most of its time. ``total`` is how many
        objects a list stands for when whoever passed it kept only the first ones already (a judging
        filter does, so the megabytes never travel through Ansible's templating).
        """
        target, rel = self.target(name)
        if isinstance(data, (list, tuple)):
            kept = list(data[:max_objects]) if 0 < max_objects < len(data) else list(data)
            of = max(len(data), int(total or 0))
            text = render(kept) if of == len(kept) else (
                f"# {len(kept)} of {of} objects kept (harness.conformance.evidence max_objects); "
                "the notebook's command lists them all\n" + render(kept))  # fmt: skip
        else:
            text = render(data)
        if write:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w", encoding="utf-8") as f:
                f.write(text)
        return rel

    def note(
        self, title: str, command: str | None, output: Any, checks: list[dict[str, Any]], write: bool = True
    ) -> str:
        """Append one section to the lab notebook (output.md); its run-relative path."""
        target, rel = self.target(NOTEBOOK)
        text = section(title, command, output, checks)
        if write:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            new = not os.path.exists(target)
            with open(target, "a", encoding="utf-8") as f:
                f.write(f"# {self.requirement}: lab notebook\n\n{text}" if new else text)
        return rel
