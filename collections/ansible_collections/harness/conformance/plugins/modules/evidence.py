#!/usr/bin/python
# Copyright: harness developers; Apache-2.0
"""Save one piece of a verify role's evidence, with secrets redacted."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: evidence
short_description: Save a verify role's evidence (objects, outputs, notebook entries), secrets redacted
description:
  - Writes under C(<evidence_dir>/<requirement>/) and returns the path relative to the run directory
    (the parent of I(evidence_dir)), ready for C(emit_evidence).
  - With I(data), writes a file (YAML for structured data, text for strings).
  - With I(title), appends a section to the requirement's lab notebook C(output.md) with the equivalent
    C(kubectl) command a reviewer can repeat, its output, and one line per check.
  - Redacts Secret C(data)/C(stringData) and any key that names a token, password, private key or
    client key, wherever it appears, so no evidence file holds a credential.
options:
  evidence_dir:
    description: The run's evidence directory (C(harness_evidence_dir)).
    type: path
    required: true
  requirement:
    description: The requirement id; files go to a sub-directory of that name.
    type: str
    required: true
  file:
    description: File name for I(data), relative to the requirement's directory.
    type: str
  data:
    description: What to save. Strings are written as they are; anything else as YAML.
    type: raw
  title:
    description: Heading of a notebook section appended to C(output.md).
    type: str
  command:
    description: The equivalent command a reviewer can run to see the same thing.
    type: str
  output:
    description: What that command showed (strings as they are, anything else as YAML).
    type: raw
  checks:
    description: Checks to list under the section, each C({name, status, expected, observed}).
    type: list
    elements: dict
    default: []
author: harness developers
"""

EXAMPLES = r"""
- name: Gateway | Save the HTTPRoute as observed
  harness.conformance.evidence:
    evidence_dir: "{{ harness_evidence_dir }}"
    requirement: ai_inference
    file: httproute.yaml
    data: "{{ verify_ai_inference_route.resources }}"
  register: verify_ai_inference_route_file

- name: Gateway | Notebook entry
  harness.conformance.evidence:
    evidence_dir: "{{ harness_evidence_dir }}"
    requirement: ai_inference
    title: The HTTPRoute is accepted
    command: kubectl get httproute split -n {{ ns }} -o yaml
    output: "{{ verify_ai_inference_route.resources[0].status }}"
    checks:
      - {name: route accepted, status: pass, expected: "True", observed: "True"}
"""

RETURN = r"""
path:
  description: The written file, relative to the run directory.
  type: str
  returned: always
"""

import os
import re
from typing import Any

from ansible.module_utils.basic import AnsibleModule

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - the harness venv always has PyYAML
    HAS_YAML = False

REDACTED = "<redacted>"
_SECRET_KEY = re.compile(
    r"(token|password|passwd|secret|private[-_]?key|client[-_]key|key[-_]data|bearer|credential)",
    re.IGNORECASE,
)
_STATUS_MARK = {"pass": "✓", "fail": "✗", "error": "!", "skip": "-"}


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
        return re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}", r"\1" + REDACTED, value)
    return value


def render(value: Any) -> str:
    value = redact(value)
    if isinstance(value, str):
        return value if value.endswith("\n") else value + "\n"
    return str(yaml.safe_dump(value, sort_keys=False, default_flow_style=False, allow_unicode=True))


def section(title: str, command: str | None, output: Any, checks: list[dict[str, Any]]) -> str:
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


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            evidence_dir=dict(type="path", required=True),
            requirement=dict(type="str", required=True),
            file=dict(type="str"),
            data=dict(type="raw"),
            title=dict(type="str"),
            command=dict(type="str"),
            output=dict(type="raw"),
            checks=dict(type="list", elements="dict", default=[]),
        ),
        required_one_of=[("file", "title")],
        required_by={"file": ("data",)},
        supports_check_mode=True,
    )
    if not HAS_YAML:
        module.fail_json(msg="PyYAML is required by harness.conformance.evidence")
    p = module.params
    if not re.fullmatch(r"[a-z][a-z0-9_]*", p["requirement"]):
        module.fail_json(msg=f"requirement '{p['requirement']}' is not a requirement id")
    base = os.path.join(os.path.abspath(p["evidence_dir"]), p["requirement"])
    name = p["file"] or "output.md"
    target = os.path.normpath(os.path.join(base, name))
    if not target.startswith(base + os.sep):
        module.fail_json(msg=f"evidence file '{name}' escapes the requirement's directory")
    rel = os.path.relpath(target, os.path.dirname(os.path.abspath(p["evidence_dir"])))
    if module.check_mode:
        module.exit_json(changed=True, path=rel)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if p["file"]:
        with open(target, "w", encoding="utf-8") as f:
            f.write(render(p["data"]))
    else:
        new = not os.path.exists(target)
        with open(target, "a", encoding="utf-8") as f:
            if new:
                f.write(f"# {p['requirement']}: lab notebook\n\n")
            f.write(section(p["title"], p["command"], p["output"], p["checks"]))
    module.exit_json(changed=True, path=rel)


if __name__ == "__main__":
    main()
