# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""Filters that point a controller's webhook manifests at a process running outside the cluster.

Upstream controllers ship their webhook configurations and CRD conversion patches as kustomize
inputs (a `webhook-service` in namespace `system`). The lab renders them itself: it renames the
configurations, drops webhooks for kinds the controller does not serve, and rewrites every
clientConfig either to a Service reference (an ExternalName Service that the apiserver resolves
to the local process) or to a plain URL with our own CA bundle.
"""

from __future__ import annotations

import copy
from typing import Any

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: webhook_rewire
short_description: Point a Mutating/ValidatingWebhookConfiguration at a local webhook server
version_added: "0.1.0"
description:
  - Returns a copy of the configuration with a new name, only the webhooks whose rules touch
    one of O(keep) (when given), and each C(clientConfig) rewritten to O(service) or O(url).
positional: _input
options:
  _input:
    description: The webhook configuration (a dict).
    type: dict
    required: true
  name:
    description: New C(metadata.name).
    type: str
    required: true
  service:
    description: C({name, namespace, port}) of the Service to call (path is kept per webhook).
    type: dict
  url:
    description: Base URL (C(https://127.0.0.1:9443)); each webhook's path is appended.
    type: str
  ca_bundle:
    description: Base64 PEM CA bundle to set (omit to leave it to the controller).
    type: str
  keep:
    description: C(group/resource) entries (V(*) as resource for a whole group); other webhooks are dropped.
    type: list
    elements: str
  exclude_namespaces:
    description: Namespaces that webhooks outside O(own_groups) must skip (a namespaceSelector).
    type: list
    elements: str
  own_groups:
    description: API groups of the controller's own kinds (those webhooks get no namespaceSelector).
    type: list
    elements: str
"""


def _rule_keys(webhook: dict[str, Any]) -> set[tuple[str, str]]:
    keys = set()
    for rule in webhook.get("rules") or []:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                keys.add((group, resource))
    return keys


def _kept(webhook: dict[str, Any], keep: list[str] | None) -> bool:
    if keep is None:
        return True
    wanted = set()
    for entry in keep:
        group, sep, resource = entry.rpartition("/")
        if not sep:
            raise AnsibleFilterError("keep entries are group/resource, got %r" % entry)
        wanted.add((group, resource))
    return any((g, r) in wanted or (g, "*") in wanted for g, r in _rule_keys(webhook))


def _path(client_config: dict[str, Any]) -> str:
    svc = client_config.get("service") or {}
    return str(svc.get("path") or "")


def _client_config(old: dict[str, Any], service: dict[str, Any] | None, url: str | None,
                   ca_bundle: str | None) -> dict[str, Any]:
    if (service is None) == (url is None):
        raise AnsibleFilterError("give exactly one of service or url")
    path = _path(old)
    new: dict[str, Any]
    if service is not None:
        new = {"service": {"name": service["name"], "namespace": service["namespace"],
                           "port": int(service["port"]), "path": path}}
    else:
        new = {"url": str(url).rstrip("/") + path}
    if ca_bundle:
        new["caBundle"] = ca_bundle
    return new


def webhook_rewire(config: dict[str, Any], name: str, service: dict[str, Any] | None = None,
                   url: str | None = None, ca_bundle: str | None = None, keep: list[str] | None = None,
                   exclude_namespaces: list[str] | None = None,
                   own_groups: list[str] | None = None) -> dict[str, Any]:
    """The rendered configuration; see DOCUMENTATION."""
    if config.get("kind") not in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        raise AnsibleFilterError("not a webhook configuration: kind %r" % config.get("kind"))
    out = copy.deepcopy(config)
    out["metadata"] = {"name": name}
    hooks = []
    for hook in out.get("webhooks") or []:
        if not _kept(hook, keep):
            continue
        hook["clientConfig"] = _client_config(hook.get("clientConfig") or {}, service, url, ca_bundle)
        groups = {g for g, _ in _rule_keys(hook)}
        if exclude_namespaces and not groups & set(own_groups or []):
            hook["namespaceSelector"] = {"matchExpressions": [{
                "key": "kubernetes.io/metadata.name", "operator": "NotIn",
                "values": list(exclude_namespaces)}]}
        hooks.append(hook)
    out["webhooks"] = hooks
    return out


def crd_conversion(crd: dict[str, Any], patches: list[dict[str, Any]], service: dict[str, Any] | None = None,
                   url: str | None = None, ca_bundle: str | None = None) -> dict[str, Any]:
    """The CRD with the conversion webhook of its patch (if any) pointed at service or url."""
    name = (crd.get("metadata") or {}).get("name")
    out = copy.deepcopy(crd)
    for patch in patches:
        if (patch.get("metadata") or {}).get("name") != name:
            continue
        conversion = copy.deepcopy((patch.get("spec") or {}).get("conversion"))
        if not conversion:
            continue
        webhook = conversion.setdefault("webhook", {})
        webhook["clientConfig"] = _client_config(webhook.get("clientConfig") or {}, service, url, ca_bundle)
        out.setdefault("spec", {})["conversion"] = conversion
    return out


class FilterModule:
    """harness.conformance webhook filters."""

    def filters(self) -> dict[str, Any]:
        return {"webhook_rewire": webhook_rewire, "crd_conversion": crd_conversion}
