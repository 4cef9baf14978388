#!/usr/bin/python
# Copyright: harness developers; Apache-2.0
"""Apply CustomResourceDefinitions server-side in one call, skipping those already applied as they are."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: crds
short_description: Apply CRDs server-side, only those that changed, and wait until they are Established
description:
  - Applies each CRD of I(src) and I(definitions) with server-side apply (field manager I(field_manager), conflicts
    forced), stamped with the annotation C(harness.dev/applied-sha256), the digest of the definition.
  - A CRD whose live object carries the same digest and is Established is left alone, so a second
    C(harness up) of an unchanged lab sends no CRD at all (the large Kueue and KubeRay CRDs took most
    of a warm up when every one was re-applied through kubernetes.core.k8s, one module call each).
  - Then waits, polling every half second, until every CRD it applied is Established.
  - In check mode, reports which CRDs would be applied and applies none.
  - Prefer I(src) for large CRDs. The module reads and parses the files itself, which is much faster
    than passing megabytes of parsed YAML through Ansible's templating and module arguments (the
    Kueue CRDs took over a minute that way even when nothing changed).
options:
  kubeconfig:
    description: Path of the cluster's kubeconfig.
    type: path
    required: true
  src:
    description: YAML files of CRDs (one or more CRD documents each), read on the host the module runs on.
    type: list
    elements: path
  definitions:
    description: CRDs as mappings, applied after those of I(src).
    type: list
    elements: dict
  spec_overrides:
    description:
      - "Partial CRDs C({metadata: {name}, spec: {...}}); each top-level key of their C(spec) replaces the
        one of the CRD of that name (a conversion webhook pointed elsewhere, for example)."
    type: list
    elements: dict
    default: []
  field_manager:
    description: Field manager of the server-side apply.
    type: str
    required: true
  wait_timeout:
    description: Seconds to wait for the applied CRDs to be Established.
    type: int
    default: 60
author: harness developers
"""

EXAMPLES = r"""
- name: KubeRay | apply the CRDs
  harness.conformance.crds:
    kubeconfig: "{{ sim_controllers_kubeconfig }}"
    src: "{{ crd_files.files | map(attribute='path') | sort }}"
    field_manager: harness-sim-controllers
"""

RETURN = r"""
applied:
  description: Names of the CRDs applied by this call (new or changed).
  type: list
  elements: str
  returned: always
unchanged:
  description: Names of the CRDs left alone (same digest, Established).
  type: list
  elements: str
  returned: always
"""

import hashlib
import json
import time
from typing import Any

import yaml

from ansible.module_utils.basic import AnsibleModule

ANNOTATION = "harness.dev/applied-sha256"
APPLY = "application/apply-patch+yaml"


def digest(definition: dict[str, Any]) -> str:
    """The definition's digest, independent of key order (the annotation itself left out)."""
    meta = dict(definition.get("metadata") or {})
    notes = {k: v for k, v in (meta.get("annotations") or {}).items() if k != ANNOTATION}
    meta["annotations"] = notes
    canonical = json.dumps({**definition, "metadata": meta}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def stamped(definition: dict[str, Any], sha: str) -> dict[str, Any]:
    meta = dict(definition.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), ANNOTATION: sha}
    return {**definition, "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": meta}


def established(crd: dict[str, Any] | None) -> bool:
    conditions = ((crd or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def read_crds(paths: list[str]) -> list[dict[str, Any]]:
    """The documents of the files, in order (libyaml's parser where PyYAML has it)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    docs: list[dict[str, Any]] = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            docs.extend(d for d in yaml.load_all(f, Loader=loader) if d)
    return docs


def overridden(definition: dict[str, Any], overrides: list[dict[str, Any]]) -> dict[str, Any]:
    """The definition with the spec keys of the overrides naming it replaced."""
    name = (definition.get("metadata") or {}).get("name")
    spec = dict(definition.get("spec") or {})
    for o in overrides:
        if (o.get("metadata") or {}).get("name") == name:
            spec.update(o.get("spec") or {})
    return {**definition, "spec": spec}


class Cluster:
    """The two calls the module needs, through the kubernetes client's DynamicClient (no discovery)."""

    PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"

    def __init__(self, kubeconfig: str) -> None:
        from kubernetes import config
        from kubernetes.dynamic import DynamicClient

        self.client = DynamicClient(config.new_client_from_config(config_file=kubeconfig))

    def get(self, name: str) -> dict[str, Any] | None:
        from kubernetes.dynamic.exceptions import NotFoundError

        # The raw JSON: wrapping a large CRD (Kueue's run to hundreds of kB) in the client's
        # ResourceInstance and back took most of a second per CRD.
        try:
            return dict(json.loads(self.client.request("get", self.PATH + name, serialize=False).data))
        except NotFoundError:
            return None

    def apply(self, name: str, body: dict[str, Any], manager: str) -> None:
        self.client.request("patch", self.PATH + name, body=body, content_type=APPLY, field_manager=manager,
                            force_conflicts=True, serialize=False)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            kubeconfig=dict(type="path", required=True),
            src=dict(type="list", elements="path"),
            definitions=dict(type="list", elements="dict"),
            spec_overrides=dict(type="list", elements="dict", default=[]),
            field_manager=dict(type="str", required=True),
            wait_timeout=dict(type="int", default=60),
        ),
        required_one_of=[("src", "definitions")],
        supports_check_mode=True,
    )
    p = module.params
    try:
        definitions = read_crds(p["src"] or []) + list(p["definitions"] or [])
    except (OSError, yaml.YAMLError) as e:
        module.fail_json(msg=f"cannot read the CRD files: {e}")
    try:
        cluster = Cluster(p["kubeconfig"])
    except Exception as e:  # noqa: BLE001 - a kubeconfig that does not load is the user's error to read
        module.fail_json(msg=f"cannot load the kubeconfig {p['kubeconfig']}: {e}")
    applied: list[str] = []
    unchanged: list[str] = []
    for definition in (overridden(d, p["spec_overrides"]) for d in definitions):
        name = str((definition.get("metadata") or {}).get("name") or "")
        if not name or definition.get("kind", "CustomResourceDefinition") != "CustomResourceDefinition":
            module.fail_json(msg=f"not a CustomResourceDefinition with a name: kind={definition.get('kind')!r} name={name!r}")
        sha = digest(definition)
        try:
            live = cluster.get(name)
            if live and ((live.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION) == sha and established(live):
                unchanged.append(name)
                continue
            if not module.check_mode:
                cluster.apply(name, stamped(definition, sha), p["field_manager"])
        except Exception as e:  # noqa: BLE001 - the API's answer is the message
            module.fail_json(msg=f"applying the CRD {name} failed: {e}", applied=applied, unchanged=unchanged)
        applied.append(name)
    waiting = [] if module.check_mode else list(applied)
    deadline = time.monotonic() + p["wait_timeout"]
    while waiting:
        waiting = [n for n in waiting if not established(cluster.get(n))]
        if not waiting:
            break
        if time.monotonic() > deadline:
            module.fail_json(msg=f"not Established after {p['wait_timeout']} s: {', '.join(waiting)}",
                             applied=applied, unchanged=unchanged)
        time.sleep(0.5)
    module.exit_json(changed=bool(applied), applied=applied, unchanged=unchanged)


if __name__ == "__main__":
    main()
