# Copyright: harness developers; Apache-2.0
"""Where a verify role's evidence goes and how it is written, secrets redacted.

Shared by the ``harness.conformance.evidence`` module and the ``evidence`` / ``record_step`` action
plugins (which write on the controller, without shipping a module, when the connection is local).
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

#: the options of harness.conformance.evidence (module and action plugin)
ARGUMENT_SPEC: dict[str, Any] = dict(
    evidence_dir=dict(type="path", required=True),
    requirement=dict(type="str", required=True),
    file=dict(type="str"),
    data=dict(type="raw"),
    title=dict(type="str"),
    command=dict(type="str"),
    output=dict(type="raw"),
    checks=dict(type="list", elements="dict", default=[]),
    max_objects=dict(type="int", default=100),
)
REQUIRED_ONE_OF = [("file", "title")]
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


def render(value: Any) -> str:
    value = _plain(redact(value))
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


class Place:
    """The evidence directory of one requirement of a run."""

    def __init__(self, evidence_dir: str, requirement: str) -> None:
        if not _REQUIREMENT_ID.fullmatch(requirement or ""):
            raise EvidenceError(f"requirement '{requirement}' is not a requirement id")
        self.evidence_dir = os.path.abspath(os.path.expanduser(evidence_dir))
        self.requirement = requirement
        self.base = os.path.join(self.evidence_dir, requirement)

    def target(self, name: str) -> tuple[str, str]:
        """(absolute path, path relative to the run directory) of a file of this requirement."""
        target = os.path.normpath(os.path.join(self.base, name))
        if not target.startswith(self.base + os.sep):
            raise EvidenceError(f"evidence file '{name}' escapes the requirement's directory")
        return target, os.path.relpath(target, os.path.dirname(self.evidence_dir))

    def save(self, name: str, data: Any, write: bool = True, max_objects: int = 0) -> str:
        """Write one file (YAML for structured data, text for strings); its run-relative path.

        A list longer than ``max_objects`` (when above 0) keeps its first ``max_objects`` items, under a
        comment that says so: a 500-node lab's 500 ResourceSlices are megabytes that say nothing the
        first hundred do not, and writing them took a role most of its time.
        """
        target, rel = self.target(name)
        if max_objects > 0 and isinstance(data, (list, tuple)) and len(data) > max_objects:
            text = (f"# {max_objects} of {len(data)} objects kept (harness.conformance.evidence max_objects); "
                    "the notebook's command lists them all\n" + render(list(data[:max_objects])))  # fmt: skip
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
