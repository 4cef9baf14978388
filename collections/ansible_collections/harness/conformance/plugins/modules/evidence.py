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
  max_objects:
    description:
      - When I(data) is a list longer than this, only its first I(max_objects) items are saved, under a
        comment giving both counts (a 500-node lab's ResourceSlices, say). C(0) keeps everything.
    type: int
    default: 100
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

from ansible.module_utils.basic import AnsibleModule

try:
    from ansible_collections.harness.conformance.plugins.module_utils.evidence_files import (
        ARGUMENT_SPEC,
        REQUIRED_BY,
        REQUIRED_ONE_OF,
        EvidenceError,
        Place,
    )

    HAS_YAML = True
except ImportError:  # pragma: no cover - the harness venv always has PyYAML
    HAS_YAML = False


def main() -> None:
    if not HAS_YAML:
        AnsibleModule(argument_spec={}, bypass_checks=True).fail_json(msg="PyYAML is required by harness.conformance.evidence")
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_one_of=REQUIRED_ONE_OF,
        required_by=REQUIRED_BY,
        supports_check_mode=True,
    )
    p = module.params
    try:
        place = Place(p["evidence_dir"], p["requirement"])
        write = not module.check_mode
        if p["file"]:
            rel = place.save(p["file"], p["data"], write, p["max_objects"])
        else:
            rel = place.note(p["title"], p["command"], p["output"], p["checks"], write)
    except EvidenceError as e:
        module.fail_json(msg=str(e))
    module.exit_json(changed=True, path=rel)


if __name__ == "__main__":
    main()
