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
  - With I(data), writes a file (YAML for structured data, text for strings); I(files) writes several.
  - With I(title), appends a section to the requirement's lab notebook C(output.md) with the equivalent
    C(kubectl) command a reviewer can repeat, its output, and one line per check.
  - "With I(step), one judged step at once, as a filter of the collection returns it: its files, its
    notebook section and its checks; the step's I(facts) come back for the tasks after it."
  - "The step ledger: a role that starts with I(state=opened) keeps no lists of its own. Every write
    after that is noted in a ledger next to the evidence directory (never in it), and
    C(harness.conformance.emit) collects the checks and files with I(state=collected)."
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
  state:
    description:
      - "C(written) writes evidence; C(opened) starts the requirement's step ledger afresh;
        C(collected) returns the ledger's I(checks) and I(evidence) and removes it."
    type: str
    default: written
    choices: [written, opened, collected]
  file:
    description: File name for I(data), relative to the requirement's directory.
    type: str
  files:
    description:
      - "Several files at once, each C({name, data}) and optionally its own C(max_objects). They are
        written before the notebook section of the same task."
    type: list
    elements: dict
    default: []
  step:
    description:
      - "One judged step as a mapping with any of C(title), C(command), C(output), C(checks), C(files)
        and C(facts): what a judging filter returns. Giving a key here and as an option is an error."
    type: dict
  facts:
    description: Values returned as they are in the result's C(facts), for the tasks that follow.
    type: raw
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

# A role that keeps no lists: open the ledger first, record judged steps, and emit collects them.
- name: Gang scheduling | Open the step ledger
  harness.conformance.evidence:
    evidence_dir: "{{ harness_evidence_dir }}"
    requirement: gang_scheduling
    state: opened

- name: Gang scheduling | Record the positive admission
  harness.conformance.evidence:
    evidence_dir: "{{ harness_evidence_dir }}"
    requirement: gang_scheduling
    step: "{{ verify_gang_scheduling_pos_wl | harness.conformance.gang_admission(verify_gang_scheduling_created, verify_gang_scheduling_sources) }}"
  register: verify_gang_scheduling_pos  # verify_gang_scheduling_pos.facts.admitted for later tasks
"""

RETURN = r"""
path:
  description: The last file written (the notebook when there was a title), relative to the run directory.
  type: str
  returned: when written
paths:
  description: Every file this call wrote, relative to the run directory.
  type: list
  elements: str
  returned: when written
checks:
  description: With I(state=collected), the checks of every step since the ledger was opened; otherwise this call's checks.
  type: list
  elements: dict
  returned: when written or collected
evidence:
  description: With I(state=collected), every file written since the ledger was opened, in order, each once.
  type: list
  elements: str
  returned: when collected
facts:
  description: The I(facts) given (a step's judgement for later tasks).
  type: raw
  returned: when given
"""

from ansible.module_utils.basic import AnsibleModule

try:
    from ansible_collections.harness.conformance.plugins.module_utils.evidence_files import (
        ARGUMENT_SPEC,
        REQUIRED_BY,
        EvidenceError,
        perform,
    )

    HAS_YAML = True
except ImportError:  # pragma: no cover - the harness venv always has PyYAML
    HAS_YAML = False


def main() -> None:
    if not HAS_YAML:
        AnsibleModule(argument_spec={}, bypass_checks=True).fail_json(msg="PyYAML is required by harness.conformance.evidence")
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_by=REQUIRED_BY,
        supports_check_mode=True,
    )
    try:
        result = perform(module.params, write=not module.check_mode)
    except EvidenceError as e:
        module.fail_json(msg=str(e))
    except OSError as e:
        module.fail_json(msg=f"could not write evidence: {e}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
