# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""The judgement of the inference roles: ``verify_ai_inference`` (Gateway API routing of inference
traffic), ``verify_advanced_inference_ingress`` (the Gateway API Inference Extension) and
``verify_disaggregated_inference`` (separate prefill and decode pods on GPU nodes).

Each ``*_step`` filter takes what a role's tasks registered (the raw ``k8s_info`` results, the
request script's output) and the role's settings (``verify_<id>_sources``), and returns one judged
step for ``harness.conformance.evidence``'s ``step:``: notebook title, command and output, the check
records, the files to save, and the ``facts`` the tasks after it need (whether to go on). The check
texts are the ones the roles wrote in Jinja before, so run records and notebooks read as they did.

- ``gateway_class_pick`` / ``gateway_class_settled``: which GatewayClass a role uses, and whether
  waiting for it can stop;
- ``ai_inference_crds_step``, ``ai_inference_class_step``, ``ai_inference_gateway_step``,
  ``ai_inference_traffic_runs``, ``ai_inference_traffic_step``: ``verify_ai_inference``;
- ``inference_unreached``: the checks an earlier failure kept a role from making, as skipped.
"""

from __future__ import annotations

import json
from typing import Any

from ansible_collections.harness.conformance.plugins.filter.k8s_status import (
    condition,
    condition_summary,
    parent_conditions,
    parent_reasons,
)

DOCUMENTATION = r"""
name: ai_inference_traffic_step
short_description: The judged steps of the inference roles (ai_inference, advanced_inference_ingress, disaggregated_inference)
version_added: "0.4.0"
description:
  - C(results | harness.conformance.<role>_<step>_step(..., sources)) returns one judged step for
    C(harness.conformance.evidence)'s C(step) option (C(title), C(command), C(output), C(checks), C(files), C(facts)).
  - C(names | harness.conformance.inference_unreached(steps, message)) lists the checks an earlier failure kept
    the role from making, as skipped.
positional: _input
options:
  _input:
    description: What the step's tasks registered (k8s_info results or resources, the request script's runs).
    type: raw
    required: true
  sources:
    description: The role's settings (its C(verify_<id>_sources) dict).
    type: dict
    required: true
"""

Obj = dict[str, Any]
Check = dict[str, Any]


def _first(objs: Any) -> Obj:
    """The first object of a k8s_info ``resources`` list, or {} (a missing object reads as empty)."""
    return objs[0] if isinstance(objs, list) and objs and isinstance(objs[0], dict) else {}


def _names(objs: Any) -> list[str]:
    return [str((o.get("metadata") or {}).get("name", "")) for o in objs or [] if isinstance(o, dict)]


def _all_pass(checks: list[Check]) -> bool:
    """A step lets the role go on when every check it made passed (a skipped optional one does not stop it)."""
    return all(c.get("status") in ("pass", "skip") and (c.get("status") == "pass" or not c.get("required", True))
               for c in checks)  # fmt: skip


def inference_unreached(names: list[str], steps: list[Any], message: str) -> list[Check]:
    """Each check of ``names`` that no recorded step made, as skipped: the record always shows the whole
    procedure, even when an earlier failure stopped the role. ``steps`` are the registered results of the
    role's evidence tasks (a skipped or never-run step has no checks)."""
    made = {c.get("name") for s in steps or [] if isinstance(s, dict) for c in s.get("checks") or []}
    return [{"name": n, "status": "skip", "required": True, "message": message} for n in names if n not in made]


# --- GatewayClass ---------------------------------------------------------------------------------


def gateway_class_pick(classes: Any, wanted: str = "", any_class: bool = True) -> str:
    """The GatewayClass a role uses: the one asked for, else the first Accepted one by name, else (with
    ``any_class``) the first one at all, so that its missing acceptance is what the check reports."""
    if wanted:
        return wanted
    accepted = sorted(_names(o for o in classes or [] if condition(o, "Accepted") == "True"))
    if accepted:
        return accepted[0]
    every = sorted(_names(classes)) if any_class else []
    return every[0] if every else ""


def gateway_class_settled(classes: Any, wanted: str = "") -> bool:
    """Whether waiting for a GatewayClass can stop: one of the candidates is Accepted, or there is no
    candidate at all (the class asked for, or any class, does not exist: that answer will not change)."""
    names = _names(classes)
    candidates = ([wanted] if wanted in names else []) if wanted else names
    accepted = set(_names(o for o in classes or [] if condition(o, "Accepted") == "True"))
    return not candidates or bool(accepted & set(candidates))


def _named(objs: Any, name: str) -> Obj:
    return next((o for o in objs or [] if isinstance(o, dict) and (o.get("metadata") or {}).get("name") == name), {})


# --- verify_ai_inference ----------------------------------------------------------------------------


def _crd_summary(result: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """What a reviewer needs of one Gateway API CRD: present, conditions, served versions, bundle."""
    crd = _first(result.get("resources"))
    annotations = (crd.get("metadata") or {}).get("annotations") or {}
    return {
        "name": f"{result.get('item')}.{sources['group']}",
        "required": result.get("item") in sources["crds_required"],
        "present": bool(crd),
        "conditions": {str(c.get("type")): c.get("status") for c in (crd.get("status") or {}).get("conditions") or []},
        "served_versions": [v.get("name") for v in (crd.get("spec") or {}).get("versions") or [] if v.get("served")],
        "bundle_version": annotations.get("gateway.networking.k8s.io/bundle-version", ""),
        "channel": annotations.get("gateway.networking.k8s.io/channel", ""),
    }  # fmt: skip


def _crd_check(s: dict[str, Any]) -> Check:
    conds = s["conditions"]
    ok = s["present"] and conds.get("Established") == "True" and conds.get("NamesAccepted") == "True"
    observed = (f"Established={conds.get('Established', '?')}, NamesAccepted={conds.get('NamesAccepted', '?')}, "
                f"served {','.join(s['served_versions'])}") if s["present"] else "not installed"  # fmt: skip
    return {"name": f"CRD {s['name']} is Established", "status": "pass" if ok else "fail",
            "required": s["required"] or s["present"], "expected": "Established=True, NamesAccepted=True",
            "observed": observed}  # fmt: skip


def ai_inference_crds_step(results: list[dict[str, Any]], sources: dict[str, Any]) -> dict[str, Any]:
    """The Gateway API CRDs (a looped k8s_info, one result per plural name): a required one must be
    Established with its names accepted; an optional one is judged only when it is installed."""
    summary = [_crd_summary(r, sources) for r in results or []]
    checks = [_crd_check(s) for s in summary if s["required"] or s["present"]]
    names = " ".join(f"{n}.{sources['group']}" for n in list(sources["crds_required"]) + list(sources["crds_optional"]))
    return {
        "title": "Gateway API CRDs are installed and Established",
        "command": f"kubectl get crd {names} "
                   "-o custom-columns=NAME:.metadata.name,ESTABLISHED:.status.conditions[?(@.type==\"Established\")].status",
        "output": summary,
        "checks": checks,
        "files": [{"name": "gateway-api-crds.yaml", "data": summary}],
        "facts": {"ok": _all_pass(checks)},
    }  # fmt: skip


def ai_inference_class_step(classes: list[Obj], sources: dict[str, Any]) -> dict[str, Any]:
    """The GatewayClass the Gateway will use must be Accepted by its controller; when it is missing, the
    message lists the classes there are."""
    name = gateway_class_pick(classes, sources["gateway_class"])
    obj = _named(classes, name)
    accepted = condition(obj, "Accepted")
    if obj:
        controller = (obj.get("spec") or {}).get("controllerName", "")
        observed = f"GatewayClass {name} (controller {controller}) Accepted={accepted or 'unset'}"
    else:
        observed = f"no GatewayClass named {name}" if name else "no GatewayClass at all"
    check = {"name": "GatewayClass is Accepted", "status": "pass" if accepted == "True" else "fail",
             "expected": f"GatewayClass {name or '(any)'} Accepted=True", "observed": observed,
             "message": "" if obj else f"GatewayClasses present: {', '.join(_names(classes)) or 'none'}"}  # fmt: skip
    return {
        "title": "A GatewayClass is Accepted by its controller",
        "command": f"kubectl get gatewayclass {name} -o yaml",
        "output": obj.get("status", "not found") if obj else "not found",
        "checks": [check],
        "files": [{"name": "gatewayclasses.yaml", "data": list(classes or [])}],
        "facts": {"name": name, "ok": check["status"] == "pass"},
    }  # fmt: skip


def _gateway_check(gw: Obj, sources: dict[str, Any]) -> Check:
    programmed = condition(gw, "Programmed") == "True"
    addresses = ", ".join(str(a.get("value")) for a in (gw.get("status") or {}).get("addresses") or [])
    return {"name": "Gateway is Programmed", "status": "pass" if programmed else "fail",
            "expected": f"Programmed=True within {sources['wait_timeout']}s, listener port {sources['listener_port']}",
            "observed": f"{condition_summary(gw) or 'no conditions'}; addresses: {addresses or 'none'}",
            "message": "" if programmed else "the GatewayClass controller did not program the Gateway"}  # fmt: skip


def _route_check(routes: list[Obj], route: str, check: str, gateway: str) -> Check:
    obj = _named(routes, route)
    conds = parent_conditions(obj, gateway)
    ok = conds.get("Accepted") == "True" and conds.get("ResolvedRefs") == "True"
    return {"name": check, "status": "pass" if ok else "fail",
            "expected": f"HTTPRoute {route}: parent {gateway} Accepted=True, ResolvedRefs=True",
            "observed": parent_reasons(obj, gateway) or "no status from the gateway implementation"}  # fmt: skip


def ai_inference_gateway_step(gateways: Any, routes: Any, backends: list[Obj], sources: dict[str, Any]) -> dict[str, Any]:
    """The Gateway must be Programmed; then both HTTPRoutes must be Accepted by it with their backend
    references resolved. ``routes`` is None when they were not read (the Gateway was not Programmed):
    the route checks are then not made (the role reports them as not reached)."""
    gw = _first(gateways)
    gateway = sources["gateway_name"]
    checks = [_gateway_check(gw, sources)]
    if routes is not None:
        checks += [_route_check(routes, sources["split_route"], "Weighted HTTPRoute is Accepted with ResolvedRefs", gateway),
                   _route_check(routes, sources["header_route"], "Header-match HTTPRoute is Accepted with ResolvedRefs",
                                gateway)]  # fmt: skip
    return {
        "title": "A Gateway is Programmed and the HTTPRoutes are Accepted",
        "command": f"kubectl get gateway,httproute -n {sources['namespace']} -o yaml",
        "output": {"gateway": gw.get("status", {}),
                   "routes": {n: parent_reasons(r, gateway) for n, r in zip(_names(routes), routes or [])}},
        "checks": checks,
        "files": [{"name": "gateway-and-routes.yaml",
                   "data": {"gateway": list(gateways or []), "httproutes": list(routes or []), "backends": backends}}],
        "facts": {"programmed": checks[0]["status"] == "pass", "ok": len(checks) == 3 and _all_pass(checks)},
    }  # fmt: skip


def _backend_args(backends: list[Obj]) -> list[str]:
    return [f"--backend={b['name']}={b.get('model', '')}" for b in backends]


def ai_inference_traffic_runs(sources: dict[str, Any]) -> list[dict[str, Any]]:
    """The three request runs of ``files/openai_requests.py``: the weighted route (shares compared with
    the weights), the header route with the header (the last backend) and without it (the first)."""
    backends = list(sources["backends"])
    first, last = backends[0], backends[-1]
    common = ["--url", str(sources["gateway_url"]), "--path", str(sources["request_path"])]
    tail = ["--count", str(sources["requests"]), "--identity-header", str(sources["identity_header"]),
            "--tolerance", str(sources["tolerance_pct"]), "--ready-timeout", str(sources["wait_timeout"])]  # fmt: skip
    expect = [f"--expect={b['name']}={w}" for b, w in zip(backends, sources["weights"])]
    header = ["--header", f"{sources['model_header']}={last['model']}"]
    plan = [("split", sources["split_host"], first["model"], [], expect),
            ("header", sources["header_host"], last["model"], header, []),
            ("default", sources["header_host"], first["model"], [], [])]  # fmt: skip
    return [{"key": key, "host": host,
             "argv": [str(sources["python"]), str(sources["script"]), *common, "--host", host, "--model", model, *tail,
                      *extra, *_backend_args(backends), *exp]}
            for key, host, model, extra, exp in plan]  # fmt: skip


def _all_to(tally: dict[str, Any], backend: str) -> bool:
    return tally.get("ok") == tally.get("sent") and tally.get("backends") == {backend: tally.get("sent")}


def _answered(tally: dict[str, Any]) -> str:
    return f"{json.dumps(tally.get('backends'))}, HTTP {json.dumps(tally.get('statuses'))}"


def ai_inference_traffic_step(results: list[dict[str, Any]], sources: dict[str, Any]) -> dict[str, Any]:
    """Real requests through the Gateway: the weighted route answers every request with shares within the
    tolerance of the weights; the header route sends every request with the header to the last backend
    and every request without it to the first (``results``: the looped command, one run per key)."""
    tally = {r["item"]["key"]: json.loads(r["stdout"]) for r in results}
    split, hdr, dflt = tally["split"], tally["header"], tally["default"]
    backends = list(sources["backends"])
    first, last = backends[0], backends[-1]
    mh = sources["model_header"]
    shares = "/".join(f"{b['name']}:{w}" for b, w in zip(backends, sources["weights"]))
    checks = [
        {"name": "Weighted split is observed within tolerance",
         "status": "pass" if split["ok"] == split["sent"] and split.get("within_tolerance") else "fail",
         "expected": f"all {split['sent']} requests answered; shares {shares} within ±{sources['tolerance_pct']} points",
         "observed": f"{split['ok']}/{split['sent']} answered, by backend {_answered(split)}"},
        {"name": "Header match routes every request to the matched backend",
         "status": "pass" if _all_to(hdr, last["name"]) else "fail",
         "expected": f"{mh}: {last['model']} → all {hdr['sent']} to {last['name']}",
         "observed": _answered(hdr)},
        {"name": "Requests without the header reach the default backend",
         "status": "pass" if _all_to(dflt, first["name"]) else "fail",
         "expected": f"no {mh} header → all {dflt['sent']} to {first['name']}",
         "observed": _answered(dflt)},
    ]  # fmt: skip
    request = '{"model":"%s","messages":[{"role":"user","content":"hi"}]}' % first["model"]
    command = (f"for i in $(seq {sources['requests']}); do curl -s -o /dev/null -D - -H 'Host: {sources['split_host']}' "
               f"{sources['gateway_url']}{sources['request_path']} -d '{request}' | grep -i '^{sources['identity_header']}:'; "
               f"done | sort | uniq -c (and with -H 'Host: {sources['header_host']}' -H '{mh}: {last['model']}')")  # fmt: skip
    return {"title": "OpenAI-style requests follow the weights and the header match", "command": command,
            "output": tally, "checks": checks, "files": [{"name": "traffic.yaml", "data": tally}],
            "facts": {"ok": _all_pass(checks)}}  # fmt: skip


# --- verify_advanced_inference_ingress ----------------------------------------------------------------


def _looped(results: Any, kind: str) -> list[dict[str, Any]]:
    """The results of a looped k8s_info (one read per ``item``: ``{kind, name}``) of one kind."""
    return [r for r in results or [] if isinstance(r, dict) and (r.get("item") or {}).get("kind") == kind]


def advanced_inference_ingress_reads(sources: dict[str, Any]) -> list[dict[str, str]]:
    """What the role reads first, in one looped k8s_info: each GAIE CRD by name, then every GatewayClass."""
    crds = [{"api_version": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "name": str(n)}
            for n in list(sources["crds_required"]) + list(sources["crds_optional"])]  # fmt: skip
    return crds + [{"api_version": "gateway.networking.k8s.io/v1", "kind": "GatewayClass"}]


def gateway_class_accepted(classes: Any, name: str) -> bool:
    """Whether the GatewayClass of that name is Accepted (the role creates its Gateway only then)."""
    return bool(condition(_named(classes, name), "Accepted") == "True")


def _gaie_crd(result: dict[str, Any], sources: dict[str, Any]) -> tuple[dict[str, Any], Check]:
    name = str((result.get("item") or {}).get("name"))
    crd = _first(result.get("resources"))
    required = name in sources["crds_required"]
    ok = bool(crd) and condition(crd, "Established") == "True"
    summary = {"name": name, "present": bool(crd), "conditions": condition_summary(crd),
               "served_versions": [v.get("name") for v in (crd.get("spec") or {}).get("versions") or [] if v.get("served")]}
    message = "" if ok else (f"no Gateway API Inference Extension implementation is installed (CRD {name} missing)"
                             if required else "optional CRD not installed")
    check = {"name": f"CRD {name} is Established",
             "status": "pass" if ok else ("fail" if required or crd else "skip"),
             "required": required or bool(crd), "expected": "installed, Established=True",
             "observed": condition_summary(crd) if crd else "not installed", "message": message}
    return summary, check  # fmt: skip


def advanced_inference_ingress_crds_step(results: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """The Gateway API Inference Extension CRDs: the GA InferencePool must be Established (without it no
    GAIE implementation is installed); the x-k8s.io ones are reported, and judged when installed.
    ``results``: the looped read of the CRDs (and of the GatewayClasses, which the next step judges)."""
    judged = [_gaie_crd(r, sources) for r in _looped(results, "CustomResourceDefinition")]
    summary, checks = [s for s, _ in judged], [c for _, c in judged]
    return {
        "title": "Gateway API Inference Extension CRDs",
        "command": "kubectl get crd " + " ".join(list(sources["crds_required"]) + list(sources["crds_optional"])),
        "output": summary,
        "checks": checks,
        "files": [{"name": "gaie-crds.yaml", "data": summary}],
        "facts": {"ok": _all_pass(checks)},
    }  # fmt: skip


def _gaie_class_check(classes: list[Obj], name: str) -> Check:
    obj = _named(classes, name)
    controller = (obj.get("spec") or {}).get("controllerName", "")
    return {"name": "GatewayClass is Accepted", "status": "pass" if condition(obj, "Accepted") == "True" else "fail",
            "expected": f"GatewayClass {name or '(any)'} Accepted=True",
            "observed": f"{name} (controller {controller}): {condition_summary(obj)}" if obj else f"no GatewayClass {name}"}  # fmt: skip


def _gaie_route_checks(route: Obj, pool: Obj, sources: dict[str, Any]) -> list[Check]:
    gateway = sources["gateway_name"]
    rc, pc = parent_conditions(route, gateway), parent_conditions(pool, gateway)
    return [
        {"name": "HTTPRoute to the InferencePool is Accepted with ResolvedRefs",
         "status": "pass" if rc.get("Accepted") == "True" and rc.get("ResolvedRefs") == "True" else "fail",
         "expected": f"backendRef {sources['pool_group']}/InferencePool {sources['pool_name']}: Accepted=True, ResolvedRefs=True",
         "observed": parent_reasons(route, gateway) or "no status from the gateway implementation",
         "message": "" if rc.get("ResolvedRefs") == "True"
                    else "the gateway implementation does not route to InferencePools (no GAIE support)"},
        {"name": "InferencePool is Accepted by the Gateway",
         "status": "pass" if pc.get("Accepted") == "True" else "fail",
         "expected": f"InferencePool status.parents: Gateway {gateway} Accepted=True",
         "observed": parent_reasons(pool, gateway) or "no status.parents: no gateway implementation reconciled the pool"},
    ]  # fmt: skip


def advanced_inference_ingress_gateway_step(classes: Any, gateways: Any, routes: Any, pools: Any,
                                            sources: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The GatewayClass must be Accepted, the Gateway Programmed, the HTTPRoute whose backend is the
    InferencePool Accepted with its reference resolved, and the pool Accepted by the Gateway. A check
    is made only when its objects were read (``gateways``/``routes``/``pools`` None: not reached)."""
    classes = list(classes or [])
    name = gateway_class_pick(classes, sources["gateway_class"], any_class=False)
    checks = [_gaie_class_check(classes, name)]
    if gateways is not None:
        gw = _first(gateways)
        checks.append({"name": "Gateway is Programmed",
                       "status": "pass" if condition(gw, "Programmed") == "True" else "fail",
                       "expected": "Programmed=True", "observed": condition_summary(gw) or "no status"})  # fmt: skip
    route, pool = _first(routes), _first(pools)
    if routes is not None:
        checks += _gaie_route_checks(route, pool, sources)
    gateway = sources["gateway_name"]
    return {
        "title": "A Gateway accepts an HTTPRoute whose backend is an InferencePool",
        "command": f"kubectl get gateway,inferencepool,httproute -n {sources['namespace']} -o yaml",
        "output": {"httproute": parent_reasons(route, gateway), "inferencepool": parent_reasons(pool, gateway)},
        "checks": checks,
        "files": [{"name": "gateway-pool-route.yaml",
                   "data": {"gatewayclasses": _names(classes), "gateway": list(gateways or []),
                            "inferencepool": list(pools or []), "httproute": list(routes or [])}}],
        "facts": {"ok": len(checks) == 4 and _all_pass(checks)},
    }  # fmt: skip


def advanced_inference_ingress_traffic_step(stdout: str, sources: dict[str, Any]) -> dict[str, Any]:
    """Requests through the Gateway must all be answered (200) by the pool's model servers."""
    tally = json.loads(stdout)
    requests = int(sources["requests"])
    request = '{"model":"%s","messages":[{"role":"user","content":"hi"}]}' % sources["model"]
    check = {"name": "Requests reach a model server through the InferencePool",
             "status": "pass" if tally.get("ok") == requests else "fail",
             "expected": f"all {sources['requests']} requests answered 200 by pool members",
             "observed": json.dumps(tally.get("statuses"))}  # fmt: skip
    return {"title": "Requests reach a model server through the InferencePool",
            "command": f"curl -s -H 'Host: {sources['host']}' {sources['gateway_url']}{sources['request_path']} -d '{request}'",
            "output": tally, "checks": [check], "facts": {"ok": check["status"] == "pass"}}  # fmt: skip


def advanced_inference_ingress_notes(steps: list[Any], simulated: bool = False) -> str:
    """The result's notes: a failed check means no GAIE implementation, and its message says which part
    is missing (the first failed check's); the simulated lab is named as such."""
    checks = [c for s in steps or [] if isinstance(s, dict) for c in s.get("checks") or []]
    failed = [c for c in checks if c.get("status") not in ("pass", "skip")]
    notes = ""
    if any(c.get("status") == "fail" for c in checks):
        notes = f"No Gateway API Inference Extension implementation: {failed[0].get('message', '')}. "
    return notes + ("Simulated lab: GPUs are simulated." if simulated else "")


# --- verify_disaggregated_inference -------------------------------------------------------------------


def disaggregated_inference_framework_reads(sources: dict[str, Any]) -> list[dict[str, Any]]:
    """What shows an installed framework, in one looped k8s_info: pods labelled as a prefill or decode
    part (in any namespace), then each framework CRD by name."""
    selector = f"{sources['role_label']} in ({sources['prefill_value']},{sources['decode_value']})"
    return ([{"api_version": "v1", "kind": "Pod", "label_selectors": [selector]}]
            + [{"api_version": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "name": str(n)}
               for n in sources["framework_crds"]])  # fmt: skip


def disaggregated_inference_pair_reads(pods: Any, sources: dict[str, Any]) -> list[dict[str, Any]]:
    """The role's Deployments, then only the nodes its pods run on (on a 500-node lab the whole node
    list is megabytes), in one looped k8s_info."""
    nodes = list(dict.fromkeys(str((p.get("spec") or {}).get("nodeName") or "") for p in pods or []))
    return ([{"api_version": "apps/v1", "kind": "Deployment", "namespace": sources["namespace"]}]
            + [{"api_version": "v1", "kind": "Node", "name": n} for n in nodes if n])  # fmt: skip


def _unschedulable(pod: Obj) -> list[str]:
    return [str(c.get("message", "")) for c in (pod.get("status") or {}).get("conditions") or []
            if c.get("type") == "PodScheduled" and c.get("status") == "False"]  # fmt: skip


def disaggregated_inference_settled(pods: Any, sources: dict[str, Any]) -> bool:
    """Whether waiting for the pair can stop: every pod of both parts is Ready, or a pod can never be
    placed (the scheduler found no node matching its affinity/selector: that will not change)."""
    wanted = int(sources["prefill_replicas"]) + int(sources["decode_replicas"])
    ready = [p for p in pods or [] if condition(p, "Ready") == "True"]
    return len(ready) >= wanted or any("affinity/selector" in m for p in pods or [] for m in _unschedulable(p))


def _to_int(value: Any) -> int:
    """A quantity as Jinja's ``int`` reads it (0 when it is not a plain number)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _pod_summary(pod: Obj, nodes: dict[str, Obj], sources: dict[str, Any]) -> dict[str, Any]:
    resource = sources["gpu_resource"]
    spec = pod.get("spec") or {}
    node = str(spec.get("nodeName") or "")
    limits = [(c.get("resources") or {}).get("limits") or {} for c in spec.get("containers") or []]
    allocatable = ((nodes.get(node) or {}).get("status") or {}).get("allocatable") or {}
    return {
        "pod": (pod.get("metadata") or {}).get("name"),
        "part": ((pod.get("metadata") or {}).get("labels") or {}).get(sources["role_label"], ""),
        "node": node,
        "ready": condition(pod, "Ready") == "True",
        "gpus_requested": sum(_to_int(lim[resource]) for lim in limits if resource in lim),
        "node_gpus": _to_int(allocatable.get(resource, "0")),
        "unschedulable": "; ".join(_unschedulable(pod)),
    }  # fmt: skip


def _framework(reads: Any, sources: dict[str, Any]) -> tuple[dict[str, Any], Check]:
    """What of a disaggregated serving framework is installed, and the (informational) check saying so."""
    pods = [o for r in _looped(reads, "Pod") for o in r.get("resources") or []]
    crds = [str(r["item"]["name"]) for r in _looped(reads, "CustomResourceDefinition") if r.get("resources")]
    found = {"pods": [{k: v for k, v in (p.get("metadata") or {}).items() if k in ("namespace", "name", "labels")}
                      for p in pods], "crds": crds}  # fmt: skip
    check = {"name": "A disaggregated serving framework is installed", "status": "pass" if pods or crds else "skip",
             "required": False,
             "expected": f"pods labelled {sources['role_label']}=prefill|decode, or CRDs {', '.join(sources['framework_crds'])}",
             "observed": f"{len(pods)} labelled pod(s); CRDs: {', '.join(crds) or 'none'}",
             "message": "informational: the role deploys its own minimal prefill/decode pair either way"}  # fmt: skip
    return found, check


def _availability(summary: list[dict[str, Any]], deployments: list[Obj], sources: dict[str, Any]) -> Check:
    ready = {part: [s for s in summary if s["part"] == sources[f"{part}_value"] and s["ready"]] for part in ("prefill", "decode")}
    states = {(d.get("metadata") or {}).get("name"): {k: v for k, v in (d.get("status") or {}).items()
                                                       if k in ("replicas", "readyReplicas", "availableReplicas")}
              for d in deployments}  # fmt: skip
    stuck = list(dict.fromkeys(s["unschedulable"] for s in summary if s["unschedulable"]))
    ok = all(len(ready[p]) >= int(sources[f"{p}_replicas"]) for p in ("prefill", "decode"))
    return {"name": "Prefill and decode Deployments become available", "status": "pass" if ok else "fail",
            "expected": f"{sources['prefill_replicas']} prefill and {sources['decode_replicas']} decode pod(s) Ready "
                        f"within {sources['wait_timeout']}s",
            "observed": json.dumps(states) + (f" ; unschedulable: {'; '.join(stuck)}" if stuck else "")}  # fmt: skip


def _separation(summary: list[dict[str, Any]], sources: dict[str, Any]) -> Check:
    prefill = [s["pod"] for s in summary if s["part"] == sources["prefill_value"] and s["ready"]]
    decode = [s["pod"] for s in summary if s["part"] == sources["decode_value"] and s["ready"]]
    ok = bool(prefill and decode) and not set(prefill) & set(decode)
    return {"name": "Prefill and decode run in separate pods", "status": "pass" if ok else "fail",
            "expected": "Ready prefill pods and Ready decode pods, none of them both",
            "observed": f"prefill: {', '.join(prefill) or 'none'}; decode: {', '.join(decode) or 'none'}"}  # fmt: skip


def _placement(summary: list[dict[str, Any]], sources: dict[str, Any]) -> Check:
    per_pod = int(sources["gpus_per_pod"])
    ok = bool(summary) and all(s["node_gpus"] > 0 and s["gpus_requested"] >= per_pod and s["ready"] for s in summary)
    return {"name": "Prefill and decode pods run on GPU nodes with GPUs allocated", "status": "pass" if ok else "fail",
            "expected": f"every pod Ready on a node with {sources['gpu_resource']} allocatable, holding "
                        f"{sources['gpus_per_pod']} GPU(s)",
            "observed": [{k: v for k, v in s.items() if k in ("pod", "node", "gpus_requested", "node_gpus", "ready")}
                         for s in summary]}  # fmt: skip


def disaggregated_inference_pair_step(pods: Any, reads: Any, framework_reads: Any, sources: dict[str, Any]) -> dict[str, Any]:
    """The prefill/decode pair the role deployed: both Deployments available, the parts in separate Ready
    pods, every pod on a node with the GPU resource allocatable and holding its GPUs. The framework
    check (informational) comes first. ``reads``: the looped read of the Deployments and the pods' nodes."""
    pods = list(pods or [])
    deployments = [o for r in _looped(reads, "Deployment") for o in r.get("resources") or []]
    nodes = {str((n.get("metadata") or {}).get("name")): n for r in _looped(reads, "Node") for n in r.get("resources") or []}
    summary = [_pod_summary(p, nodes, sources) for p in pods]
    found, framework = _framework(framework_reads, sources)
    checks = [framework, _availability(summary, deployments, sources), _separation(summary, sources),
              _placement(summary, sources)]  # fmt: skip
    return {
        "title": "Prefill and decode run as separate pods on GPU nodes",
        "command": f"kubectl get pods -n {sources['namespace']} -L {sources['role_label']} -o wide",
        "output": summary,
        "checks": checks,
        "files": [{"name": "prefill-decode.yaml", "data": {"framework": found, "deployments": deployments, "pods": pods}}],
        "facts": {"ok": _all_pass(checks)},
    }  # fmt: skip


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "inference_unreached": inference_unreached,
            "gateway_class_pick": gateway_class_pick,
            "gateway_class_settled": gateway_class_settled,
            "ai_inference_crds_step": ai_inference_crds_step,
            "ai_inference_class_step": ai_inference_class_step,
            "ai_inference_gateway_step": ai_inference_gateway_step,
            "ai_inference_traffic_runs": ai_inference_traffic_runs,
            "ai_inference_traffic_step": ai_inference_traffic_step,
            "gateway_class_accepted": gateway_class_accepted,
            "advanced_inference_ingress_reads": advanced_inference_ingress_reads,
            "advanced_inference_ingress_crds_step": advanced_inference_ingress_crds_step,
            "advanced_inference_ingress_gateway_step": advanced_inference_ingress_gateway_step,
            "advanced_inference_ingress_traffic_step": advanced_inference_ingress_traffic_step,
            "advanced_inference_ingress_notes": advanced_inference_ingress_notes,
            "disaggregated_inference_framework_reads": disaggregated_inference_framework_reads,
            "disaggregated_inference_pair_reads": disaggregated_inference_pair_reads,
            "disaggregated_inference_settled": disaggregated_inference_settled,
            "disaggregated_inference_pair_step": disaggregated_inference_pair_step,
        }
