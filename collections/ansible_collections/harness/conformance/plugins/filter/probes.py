# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""What the in-container probes of the verify roles report, and what it means.

The probe (``roles/probe/files/probe.sh``) prints one ``RESULT key=value`` line per fact into its
container log; the ``harness.conformance.probe`` role reads the logs back. These filters turn what
was read into facts (``probe_results``), pick the nodes and image to probe with, and judge the facts
into check records of the result contract (``name``, ``status``, ``expected``, ``observed``,
``message``), one family of requirements per function:

- ``secure_access_checks``: a container sees exactly the accelerators allocated to it;
- ``sandbox_checks``: a sandboxed pod runs on its own kernel (gVisor, Kata), unlike a runc pod;
- ``driver_version_checks``: the driver a container talks to is the one the node advertises;
- ``sharing_probe_checks``: pods sharing one GPU run at the same time on the same physical device;
- ``virtualization_checks``: MIG or vGPU devices are visible where the platform advertises them;
- ``claim_device_checks``: a pod with a ResourceClaim sees its device inside the container.
"""

from __future__ import annotations

import re
from typing import Any

DOCUMENTATION = r"""
name: probe_results
short_description: Facts reported by the harness probe containers, and their judgement into checks
version_added: "0.2.0"
description:
  - C(pods | harness.conformance.probe_results(log_results)) maps each probe pod to its phase, node,
    readiness and, per container, the facts of its C(RESULT key=value) lines.
  - C(nodes | harness.conformance.container_nodes) lists the Ready nodes that run containers (not kwok's).
  - C(nodes | harness.conformance.accelerator_nodes(resource, slices, driver)) maps those with accelerators to their count.
  - C(nodes | harness.conformance.node_image(prefix)) names an image the nodes already hold.
  - The C(*_checks) filters judge the facts into check records.
positional: _input
options:
  _input:
    description: Pods, nodes or probe results, depending on the filter.
    type: raw
    required: true
"""

RESULT_LINE = re.compile(r"^RESULT ([a-z_]+)=(.*)$")
INT_FACTS = ("devices", "smi_rc", "processes")
LIST_FACTS = ("device_names", "smi_uuids", "smi_names", "interfaces")
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
NO_SMI = 127  # the probe's smi_rc when no nvidia-smi exists in the container


def parse_probe_log(text: Any) -> dict[str, Any]:
    """The facts of one container log: ``RESULT key=value`` lines, typed; other lines are ignored.

    ``reported`` is true only when the probe got to its last line (``RESULT done=1``): a probe cut
    short reports nothing rather than half a picture.
    """
    facts: dict[str, Any] = {}
    for line in str(text or "").splitlines():
        m = RESULT_LINE.match(line.strip())
        if m:
            facts[m.group(1)] = m.group(2).strip()
    reported = facts.pop("done", "") == "1"
    for key in INT_FACTS:
        if key in facts:
            try:
                facts[key] = int(facts[key])
            except ValueError:
                facts[key] = -1
    for key in LIST_FACTS:
        if key in facts:
            facts[key] = [v for v in str(facts[key]).split(",") if v]
    return {"reported": reported, **facts} if reported else {"reported": False}


def _why(pod: dict[str, Any]) -> str:
    """Why a pod is not running, from its conditions and container states."""
    status = pod.get("status") or {}
    reasons = [f"{c.get('reason', '')}: {c.get('message', '')}".strip(": ")
               for c in status.get("conditions") or [] if c.get("status") == "False" and (c.get("reason") or c.get("message"))]
    for cs in status.get("containerStatuses") or []:
        for state in (cs.get("state") or {}).values():
            if isinstance(state, dict) and (state.get("reason") or state.get("message")):
                reasons.append(f"{cs.get('name')}: {state.get('reason', '')} {state.get('message', '')}".strip())
    return "; ".join(dict.fromkeys(r for r in reasons if r))  # Ready and ContainersReady repeat each other


def probe_results(pods: Any, log_results: Any) -> dict[str, Any]:
    """``{pod: {phase, node, ready, why, containers: {name: facts}}}`` from the pods read and the k8s_log results.

    ``log_results`` are the loop results of ``kubernetes.core.k8s_log`` over ``(pod, containerStatus)``
    pairs; a container whose log was not read (or could not be) reports nothing.
    """
    logs: dict[tuple[str, str], str] = {}
    for r in log_results or []:
        if not isinstance(r, dict) or r.get("skipped") or r.get("failed"):
            continue
        item = r.get("item") or [{}, {}]
        key = ((item[0].get("metadata") or {}).get("name", ""), (item[1] or {}).get("name", ""))
        logs[key] = str(r.get("log", ""))
    out: dict[str, Any] = {}
    for pod in pods or []:
        meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
        name = meta.get("name", "")
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        out[name] = {
            "phase": status.get("phase", ""),
            "node": spec.get("nodeName", ""),
            "runtime_class": spec.get("runtimeClassName", ""),
            "host_namespaces": [k for k in ("hostPID", "hostIPC", "hostNetwork") if spec.get(k)],
            "ready": ready,
            "why": "" if ready else _why(pod),
            "containers": {c.get("name", ""): parse_probe_log(logs.get((name, c.get("name", "")), ""))
                           for c in spec.get("containers") or []},
        }
    return out


def _ready(node: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


def container_nodes(nodes: Any) -> list[str]:
    """Names of the Ready nodes that really run containers: kwok's simulated nodes run none."""
    return sorted(n["metadata"]["name"] for n in nodes or []
                  if KWOK_ANNOTATION not in ((n.get("metadata") or {}).get("annotations") or {}) and _ready(n))


def accelerator_nodes(nodes: Any, resource: str = "nvidia.com/gpu", slices: Any = None,
                      driver: str = "gpu.nvidia.com") -> dict[str, dict[str, int]]:
    """``{node: {"device_plugin": n, "dra": m}}`` for the container nodes with accelerators.

    ``device_plugin``: the node's allocatable ``resource``; ``dra``: the devices ``driver``'s
    ResourceSlices publish for the node. Nodes with neither are left out.
    """
    real = set(container_nodes(nodes))
    out: dict[str, dict[str, int]] = {}
    for n in nodes or []:
        name = n["metadata"]["name"]
        if name not in real:
            continue
        raw = ((n.get("status") or {}).get("allocatable") or {}).get(resource, "0")
        try:
            count = int(str(raw))
        except ValueError:
            count = 0
        if count:
            out.setdefault(name, {"device_plugin": 0, "dra": 0})["device_plugin"] = count
    for s in slices or []:
        spec = s.get("spec") or {}
        if spec.get("driver") == driver and spec.get("nodeName") in real:
            entry = out.setdefault(spec["nodeName"], {"device_plugin": 0, "dra": 0})
            entry["dra"] += len(spec.get("devices") or [])
    return out


def node_image(nodes: Any, prefix: str) -> str:
    """An image name starting with ``prefix`` that a container node already holds ('' if none)."""
    real = set(container_nodes(nodes))
    names = sorted({name for n in nodes or [] if n["metadata"]["name"] in real
                    for img in (n.get("status") or {}).get("images") or [] for name in img.get("names") or []
                    if name.startswith(prefix)})
    return names[-1] if names else ""


GPU_CLAIM_TEMPLATE = "harness-probe-gpu"  # made by the harness.conformance.probe role when a pod names it


def gpu_probe_pods(gpu_nodes: Any, names: Any, resource: str = "nvidia.com/gpu", mechanism: str = "") -> list[dict[str, Any]]:
    """Probe pods named ``names``, one accelerator each, on the first node that runs containers and has
    accelerators: through the device plugin's ``resource`` where the node advertises it (or
    ``mechanism='device-plugin'``), else a DRA claim (``mechanism='dra'``). [] when there is no such node."""
    key = {"dra": "dra", "device-plugin": "device_plugin"}.get(mechanism, "")
    nodes = sorted(n for n, c in (gpu_nodes or {}).items() if (c.get(key, 0) if key else any(c.values())))
    if not nodes:
        return []
    node = nodes[0]
    use_dp = key == "device_plugin" or (not key and (gpu_nodes[node].get("device_plugin", 0) > 0))
    pods = []
    for name in names or []:
        if use_dp:
            pods.append({"name": name, "node": node, "containers": [{"name": "probe", "limits": {resource: 1}}]})
        else:
            pods.append({"name": name, "node": node,
                         "resource_claims": [{"name": "gpu", "resourceClaimTemplateName": GPU_CLAIM_TEMPLATE}],
                         "containers": [{"name": "probe", "claims": [{"name": "gpu"}]}]})
    return pods


def sharing_probe_pods(replica_nodes: Any, real_nodes: Any, names: Any = ("share-a", "share-b")) -> list[dict[str, Any]]:
    """Pods that each ask for one shared unit on the first time-sliced (or MPS) node that runs containers.

    ``replica_nodes``: ``{node: {resource, replicas, ...}}`` as verify_gpu_sharing finds them."""
    real = set(real_nodes or [])
    nodes = sorted(n for n in (replica_nodes or {}) if n in real)
    if not nodes:
        return []
    node, info = nodes[0], replica_nodes[nodes[0]]
    return [{"name": name, "node": node, "containers": [{"name": "probe", "limits": {info.get("resource", "nvidia.com/gpu"): 1}}]}
            for name in names]


def needs_accelerator(name: str, expected: str, how: str, real_nodes: Any = None) -> list[dict[str, Any]]:
    """The skipped, required check of a probe that needs an accelerator on a node that runs containers."""
    where = "no node that runs containers offers an accelerator" if real_nodes else "no node runs containers"
    return [_check(name, False, expected, "not probed", f"Needs real hardware: {how}; {where} "
                   "(simulated nodes run no containers).", status="skip", required=True, needs_hardware=True)]


def _check(name: str, ok: bool | None, expected: str, observed: str, message: str = "", **extra: Any) -> dict[str, Any]:
    """A check record; ``ok=None`` means the probe could not tell (error). ``extra`` may override status."""
    status = "error" if ok is None else "pass" if ok else "fail"
    return {"name": name, "status": status, "expected": expected, "observed": observed, "message": message, **extra}


def _container(results: dict[str, Any], pod: str, container: str = "probe") -> tuple[dict[str, Any], str]:
    """The facts of one container, or an explanation of why there are none."""
    p = results.get(pod)
    if not p:
        return {}, f"pod {pod} was not found"
    facts = (p.get("containers") or {}).get(container) or {}
    if not facts.get("reported"):
        state = p.get("phase") or "no phase"
        return {}, f"pod {pod} ({state}{', ' + p['why'] if p.get('why') else ''}) did not report from container {container}"
    return facts, ""


def _sees(facts: dict[str, Any]) -> str:
    uuids = facts.get("smi_uuids") or []
    smi = ("nvidia-smi absent" if facts.get("smi_rc") == NO_SMI
           else f"nvidia-smi exit {facts.get('smi_rc')}, {len(uuids)} GPU(s)" + (f" {','.join(uuids)}" if uuids else ""))
    names = facts.get("device_names") or []
    return f"{facts.get('devices', 0)} device node(s){' ' + ','.join(names) if names else ''}; {smi}"


def _sees_none(facts: dict[str, Any]) -> bool:
    """No GPU device node, and nvidia-smi absent or not reaching a GPU."""
    return facts.get("devices", 0) == 0 and (facts.get("smi_rc") != 0 or not facts.get("smi_uuids"))


def _sees_one(facts: dict[str, Any]) -> bool:
    return facts.get("devices") == 1 and facts.get("smi_rc") == 0 and len(facts.get("smi_uuids") or []) == 1


def secure_access_plan(real_nodes: Any, gpu_nodes: Any, mechanisms: Any, resource: str = "nvidia.com/gpu",
                       claim_template: str = "single-accelerator") -> list[dict[str, Any]]:
    """The rounds of secure-access probe pods: ``[{mechanism, node, gpus, pods}]``.

    Per mechanism the platform offers (``dra``, ``device-plugin``) on a node that runs containers and
    has accelerators: round 1 runs ``<m>-one`` (one accelerator), ``<m>-none`` (no request, same node)
    and ``<m>-second`` (another one; expected to stay Pending when the node has a single accelerator);
    round 2, after round 1's pods are gone, ``<m>-pair`` (two containers, one holding an accelerator).
    Mechanisms run one after the other, so no two compete for one device. Without such a node, one
    round runs ``any-none`` on the first container node: the negative case is still proven for real.
    """
    real = list(real_nodes or [])
    gpus_by_node = gpu_nodes or {}
    rounds: list[dict[str, Any]] = []
    for m in mechanisms or []:
        key = "dra" if m == "dra" else "device_plugin"
        nodes = sorted(n for n, c in gpus_by_node.items() if c.get(key, 0) > 0)
        if not nodes:
            continue
        node, gpus = nodes[0], gpus_by_node[nodes[0]][key]
        if m == "dra":
            pod_claims = {"resource_claims": [{"name": "gpu", "resourceClaimTemplateName": claim_template}]}
            holder: dict[str, Any] = {"claims": [{"name": "gpu"}]}
        else:
            pod_claims, holder = {}, {"limits": {resource: 1}}
        one = {"node": node, **pod_claims, "containers": [{"name": "probe", **holder}]}
        rounds.append({"mechanism": m, "node": node, "gpus": gpus, "pods": [
            {"name": f"{m}-one", **one},
            {"name": f"{m}-none", "node": node},
            {"name": f"{m}-second", **one, "expect_pending": gpus == 1},
        ]})
        rounds.append({"mechanism": m, "node": node, "gpus": gpus, "pods": [
            {"name": f"{m}-pair", "node": node, **pod_claims,
             "containers": [{"name": "authorized", **holder}, {"name": "unauthorized"}]},
        ]})
    if not rounds and real:
        rounds.append({"mechanism": "any", "node": real[0], "gpus": 0, "pods": [{"name": "any-none", "node": real[0]}]})
    return rounds


def secure_access_checks(results: Any, mechanism: str, node: str, gpus: int = 0) -> list[dict[str, Any]]:
    """Judge the secure-access probe pods of one mechanism (``dra`` or ``device-plugin``) on ``node``.

    Pods (named by the role): ``<m>-none`` (no request, on the same node) always; with ``gpus > 0``
    also ``<m>-one`` (one accelerator), ``<m>-second`` (a second pod with one: it must see another
    device, or stay Pending when the node has a single one) and ``<m>-pair`` (two containers, only
    ``authorized`` holding the accelerator). Missing pods are not judged: the caller decides what runs.
    """
    res = results or {}
    m = mechanism
    checks: list[dict[str, Any]] = []
    how = "a ResourceClaim" if m == "dra" else "the nvidia.com/gpu resource"
    facts, why = _container(res, f"{m}-none")
    if f"{m}-none" in res:
        checks.append(_check(f"A pod without a request on {node} sees no accelerator ({m})",
                             _sees_none(facts) if facts else None,
                             "no /dev/nvidia[0-9]* device node; nvidia-smi absent or failing",
                             _sees(facts) if facts else why, why))
    if gpus <= 0:
        return checks
    one, why_one = _container(res, f"{m}-one")
    checks.append(_check(f"A pod with one accelerator through {how} sees exactly one ({m})",
                         _sees_one(one) if one else None,
                         "1 device node and 1 GPU UUID from nvidia-smi -L", _sees(one) if one else why_one, why_one))
    if f"{m}-second" in res:
        second = res[f"{m}-second"]
        if gpus == 1:
            pending = second.get("phase") == "Pending" and not second.get("node") and not second.get("ready")
            checks.append(_check(f"A second pod asking for the node's only accelerator waits while the first holds it ({m})",
                                 pending, "Pending, unscheduled",
                                 f"{second.get('phase') or 'no phase'}" + (f" on {second['node']}" if second.get("node") else ""),
                                 second.get("why", "")))
        else:
            two, why_two = _container(res, f"{m}-second")
            first_ids, second_ids = set(one.get("smi_uuids") or []), set(two.get("smi_uuids") or [])
            ok = None if not (one and two) else bool(first_ids and second_ids and not first_ids & second_ids and _sees_one(two))
            checks.append(_check(f"Two pods with one accelerator each see different devices ({m})", ok,
                                 "different GPU UUIDs",
                                 f"first {sorted(first_ids)}, second {sorted(second_ids)}" if one and two else (why_one or why_two),
                                 why_one or why_two))
    if f"{m}-pair" in res:
        auth, why_a = _container(res, f"{m}-pair", "authorized")
        unauth, why_u = _container(res, f"{m}-pair", "unauthorized")
        ok = None if not (auth and unauth) else _sees_one(auth) and _sees_none(unauth)
        checks.append(_check(f"In a two-container pod only the container holding the accelerator sees it ({m})", ok,
                             "authorized: 1 device and 1 GPU; unauthorized: none",
                             f"authorized: {_sees(auth)}; unauthorized: {_sees(unauth)}" if auth and unauth else (why_a or why_u),
                             why_a or why_u))
    return checks


def secure_access_verdicts(results: Any, rounds: Any, real_nodes: Any = None) -> list[dict[str, Any]]:
    """The checks of every round of ``secure_access_plan``; without an accelerator on a node that runs
    containers, the positive cases are a skipped, required check that needs hardware."""
    checks: list[dict[str, Any]] = []
    seen: set[tuple[str, str, int]] = set()
    for r in rounds or []:
        key = (str(r.get("mechanism")), str(r.get("node")), int(r.get("gpus") or 0))
        if key not in seen:
            seen.add(key)
            checks += secure_access_checks(results, *key)
    if not any(int(r.get("gpus") or 0) for r in rounds or []):
        where = "no node that runs containers offers an accelerator" if real_nodes else "no node runs containers"
        checks.append(_check("A container with an accelerator sees exactly the ones allocated to it", False,
                             "1 device node and 1 GPU UUID per allocated accelerator; different devices for two pods",
                             "not probed", f"Needs real hardware: {where} (simulated nodes run no containers).",
                             status="skip", required=True, needs_hardware=True))
    return checks


def sandbox_checks(results: Any, sandboxed: str, baseline: str, runtime_class: str,
                   real_nodes: Any = None, node_kernel: str = "") -> list[dict[str, Any]]:
    """Judge a pod run with the sandbox ``runtime_class`` against a runc pod on the same node.

    The sandboxed pod must be admitted with its runtimeClassName, share no host namespace and report;
    its ``uname -r``, ``/proc/version`` and boot id must all differ from the runc pod's (and its
    kernel from the node's ``kernelVersion``). A pod placed on a node that runs no containers (kwok)
    cannot be probed: that check is skipped, required, with the reason.
    """
    res = results or {}
    pod = res.get(sandboxed) or {}
    host_ns = pod.get("host_namespaces") or []
    checks = [
        _check("A pod with the sandbox runtimeClassName is admitted and runs",
               pod.get("runtime_class") == runtime_class and pod.get("phase") == "Running",
               f"Running with runtimeClassName {runtime_class}",
               f"{pod.get('phase') or '(no pod)'} with runtimeClassName {pod.get('runtime_class') or '(none)'}"
               + (f" on {pod['node']}" if pod.get("node") else ""), pod.get("why", "")),
        _check("The admitted sandboxed pod shares no host namespace", bool(pod) and not host_ns,
               "hostPID, hostIPC and hostNetwork unset", ", ".join(host_ns) or "none set"),
    ]
    isolation = "The sandboxed pod runs on its own kernel, not the node's"
    expected = "uname -r, /proc/version and boot id all differ from a runc pod's on the same node"
    if real_nodes is not None and pod.get("node") and pod["node"] not in real_nodes:
        checks.append(_check(isolation, False, expected, f"scheduled on {pod['node']}, a node that runs no containers",
                             status="skip", required=True, needs_hardware=False,
                             message=f"{pod['node']} is simulated (kwok): no container runs there to probe; "
                                     "the sandbox needs a real node with its runtime installed"))
        return checks
    box, why_box = _container(res, sandboxed)
    if not box:
        checks.append(_check(isolation, False, expected, why_box, why_box))
        return checks
    base, why_base = _container(res, baseline)
    if not base:
        checks.append(_check(isolation, None, expected, f"no baseline: {why_base}", why_base))
        return checks
    fields = {"kernel": "uname -r", "proc_version": "/proc/version", "boot_id": "boot id"}
    # gVisor has no boot id at all: absent in the sandbox and present on the host also differs.
    differ = {k: box.get(k, "") != base.get(k, "") for k in fields}
    same_node = pod.get("node") == (res.get(baseline) or {}).get("node")
    observed = "; ".join(f"{label}: sandboxed {box.get(k, '') or '(none)'!r} vs runc {base.get(k, '') or '(none)'!r}"
                         for k, label in fields.items())
    same = [fields[k] for k, d in differ.items() if not d]
    checks.append(_check(isolation, all(differ.values()) and same_node, expected,
                         observed + ("" if same_node else "; the two pods ran on different nodes"),
                         f"the sandbox shows the host's {', '.join(same)}" if same else ""))
    if node_kernel:
        checks.append(_check("The sandboxed kernel differs from the node's kernelVersion",
                             box.get("kernel", "") != node_kernel, f"not {node_kernel}", box.get("kernel", "")))
    return checks


def _version_parts(v: str) -> list[int]:
    return [int(p) for p in re.findall(r"\d+", v or "")]


def versions_match(observed: str, advertised: str) -> bool:
    """Equal at their shared precision, ignoring zero padding: ``580.65.6`` matches ``580.65.06``."""
    a, b = _version_parts(observed), _version_parts(advertised)
    n = min(len(a), len(b))
    return n > 0 and a[:n] == b[:n]


def driver_version_checks(results: Any, pod: str, advertised: Any) -> list[dict[str, Any]]:
    """The driver version nvidia-smi reports inside a GPU container equals what the node advertises.

    ``advertised``: ``{source: version}`` (GFD label, DRA device attribute); each is compared.
    """
    facts, why = _container(results or {}, pod)
    seen = facts.get("driver_version", "") if facts else ""
    checks = [_check("The driver answers inside a GPU container", bool(seen) if facts else None,
                     "nvidia-smi exit 0 with a driver version",
                     f"driver {seen}" if seen else (why or _sees(facts)), why)]
    if not seen:
        return checks
    sources = {str(k): str(v) for k, v in (advertised or {}).items() if v}
    if not sources:
        checks.append(_check("The node advertises the driver version", False,
                             "a GFD label or DRA device attribute with the driver version", "none advertised"))
    for source, version in sorted(sources.items()):
        checks.append(_check(f"The driver in the container is the one {source} advertises",
                             versions_match(seen, version), version, seen))
    return checks


def sharing_probe_checks(results: Any, pods: Any) -> list[dict[str, Any]]:
    """Pods that each asked for one shared GPU run at the same time and report the same physical UUID."""
    res = results or {}
    names = list(pods or [])
    seen: dict[str, list[str]] = {}
    whys: list[str] = []
    for p in names:
        facts, why = _container(res, p)
        if facts and _sees_one(facts):
            seen[p] = facts.get("smi_uuids") or []
        else:
            whys.append(why or f"{p}: {_sees(facts)}")
    running = [p for p in names if res.get(p, {}).get("ready")]
    uuids = {u for us in seen.values() for u in us}
    return [
        _check(f"{len(names)} pods, one shared GPU each, run at the same time", len(running) == len(names) and len(names) >= 2,
               f"{len(names)} Ready at once", f"{len(running)} Ready: {', '.join(running) or 'none'}", "; ".join(whys)),
        _check("They report the same physical GPU", None if len(seen) < len(names) else len(uuids) == 1,
               "one GPU UUID in every pod", ", ".join(f"{p}: {','.join(u)}" for p, u in seen.items()) or "no pod reported a GPU",
               "; ".join(whys)),
    ]


def virtualization_checks(results: Any, pod: str, advertised: Any) -> list[dict[str, Any]]:
    """MIG or vGPU devices nvidia-smi lists inside a container, against what the node advertises.

    ``advertised``: ``{"mig": n, "vgpu": bool}`` from node labels/resources. A GPU with MIG disabled
    and no vGPU is a fail that says so (the harness never changes MIG mode).
    """
    facts, why = _container(results or {}, pod)
    if not facts:
        return [_check("A virtualized accelerator is visible in the container", None, "MIG or vGPU devices", why, why)]
    names = facts.get("smi_names") or []
    uuids = facts.get("smi_uuids") or []
    mig = [u for u in uuids if u.startswith("MIG-")]
    vgpu = [n for n in names if "GRID" in n or "vGPU" in n]
    adv = advertised or {}
    observed = f"nvidia-smi -L: {', '.join(uuids) or 'no device'}; MIG mode {facts.get('mig_mode') or 'unknown'}"
    message = ""
    if not mig and not vgpu:
        message = ("MIG mode is disabled on this GPU and it is not a vGPU: no virtualized device to show "
                   "(the harness never changes MIG mode)" if str(facts.get("mig_mode", "")).lower().startswith("disabled")
                   else "no MIG or vGPU device listed")
    return [_check("A virtualized accelerator (MIG or vGPU) is visible in the container", bool(mig or vgpu),
                   "MIG devices (MIG-… UUIDs) or a vGPU (GRID) listed" + (f"; {adv.get('mig')} MIG devices advertised" if adv.get("mig") else ""),
                   observed, message)]


def claim_device_checks(results: Any, pod: str) -> list[dict[str, Any]]:
    """A pod with a ResourceClaim sees its device inside the container (dra_support, v1.33–v1.35)."""
    facts, why = _container(results or {}, pod)
    return [_check("A pod with a ResourceClaim sees its device in the container", _sees_one(facts) if facts else None,
                   "1 device node and 1 GPU UUID", _sees(facts) if facts else why, why)]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "parse_probe_log": parse_probe_log,
            "probe_results": probe_results,
            "container_nodes": container_nodes,
            "accelerator_nodes": accelerator_nodes,
            "node_image": node_image,
            "secure_access_plan": secure_access_plan,
            "gpu_probe_pods": gpu_probe_pods,
            "needs_accelerator": needs_accelerator,
            "sharing_probe_pods": sharing_probe_pods,
            "secure_access_checks": secure_access_checks,
            "secure_access_verdicts": secure_access_verdicts,
            "sandbox_checks": sandbox_checks,
            "versions_match": versions_match,
            "driver_version_checks": driver_version_checks,
            "sharing_probe_checks": sharing_probe_checks,
            "virtualization_checks": virtualization_checks,
            "claim_device_checks": claim_device_checks,
        }
