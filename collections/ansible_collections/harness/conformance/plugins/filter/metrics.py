# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""What an accelerator metrics exporter exposes and what Prometheus holds (``verify_accelerator_metrics``).

- ``exposition_series``: per metric of interest, how many series a Prometheus text exposition has, for
  how many GPUs (distinct values of the GPU label), and two sample lines;
- ``exporter_checks``: the endpoint answered, and each metric is exposed per GPU;
- ``prometheus_counts`` / ``prometheus_checks``: the series per metric name in a
  ``count by (__name__)`` query result, and whether the required and the other metrics are there.

- ``accelerator_exporter_step`` / ``accelerator_prometheus_step`` / ``accelerator_pod_step`` /
  ``accelerator_utilisation_step``: each judged step of ``verify_accelerator_metrics`` whole (notebook
  title, command, output, checks, files, facts), from what its tasks registered, for
  ``harness.conformance.evidence``'s ``step:``.

- ``scrape_targets``: Prometheus's active targets of one namespace, one line each (``verify_ai_service_metrics``);
- ``service_discovery_step`` / ``service_traffic_step``: the judged steps of ``verify_ai_service_metrics``,
  and ``requests_answered``: how many of the requests the role sent were answered.

A metric's ``required`` defaults to true. ``sources`` is a role's settings, one dict in its ``vars/main.yml``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ansible_collections.harness.conformance.plugins.module_utils.k8s_results import jinja_truncate

DOCUMENTATION = r"""
name: exposition_series
short_description: Accelerator series an exporter exposes and Prometheus holds, and their judgement into checks
version_added: "0.3.0"
description:
  - C(text | harness.conformance.exposition_series(metrics, gpu_label)) counts series and GPUs per metric.
  - C(series | harness.conformance.exporter_checks(metrics, scrape, url, gpu_label)) judges the exporter
    (I(scrape) is the C(ansible.builtin.uri) result).
  - C(query | harness.conformance.prometheus_counts) maps metric names to series counts (I(query) is the JSON answer).
  - C(counts | harness.conformance.prometheus_checks(metrics, answered, error, prometheus_url)) judges Prometheus.
  - "C(scrape | harness.conformance.accelerator_exporter_step(sources)), C(answer | accelerator_prometheus_step(sources)),
    C(pod_info | accelerator_pod_step(series, sources)) and C(later | accelerator_utilisation_step(attribution, sources))
    return one judged step each (I(scrape), I(answer), I(series), I(later) are C(ansible.builtin.uri) results,
    I(pod_info) a C(k8s_info) result, I(attribution) the facts of the pod step)."
  - "C(up | harness.conformance.service_discovery_step(first, read, sources)) and
    C(after | service_traffic_step(sent, discovery, sources)) return the steps of C(verify_ai_service_metrics)
    (I(up), I(first), I(after) are C(ansible.builtin.uri) results, I(read) and I(sent) looped ones, I(discovery)
    the facts of the discovery step); C(sent | requests_answered) counts the answered requests."
positional: _input
options:
  _input:
    description: The exposition text, the series, the query answer or the counts, depending on the filter.
    type: raw
    required: true
  sources:
    description: >-
      The role's settings: C(exporter_url), C(prometheus_url), C(metrics), C(gpu_label), C(util_metric),
      C(util_delta), C(busy_annotations), C(namespace), C(pod), C(pod_query), C(ready_timeout), C(series_timeout);
      for C(verify_ai_service_metrics) C(prometheus_url), C(namespace), C(metric_regex), C(metric), C(discovery_timeout),
      C(traffic_timeout), C(traffic_url), C(traffic_body), C(requests).
    type: dict
"""


def truncate(text: str, length: int = 300) -> str:
    """As Jinja's truncate filter, at the length the metrics roles' observed texts were cut at."""
    return jinja_truncate(text, length)


def _required(metric: dict[str, Any]) -> bool:
    return bool(metric.get("required", True))


def exposition_series(text: str | None, metrics: list[dict[str, Any]], gpu_label: str) -> dict[str, dict[str, Any]]:
    lines = (text or "").splitlines()
    label = re.compile(f"^.*[{{,]{gpu_label}=\"([^\"]*)\".*$")
    out: dict[str, dict[str, Any]] = {}
    for m in metrics:
        series = [line for line in lines if re.match(f"{m['name']}[{{ ]", line)]
        gpus = list(dict.fromkeys(label.sub(r"\1", line) for line in series if f'{gpu_label}="' in line))
        out[m["name"]] = {"series": len(series), "gpus": len(gpus), "sample": series[:2]}
    return out


def exporter_checks(series: dict[str, dict[str, Any]], metrics: list[dict[str, Any]], scrape: dict[str, Any],
                    url: str, gpu_label: str) -> list[dict[str, Any]]:  # fmt: skip
    ok = scrape.get("status", -1) == 200
    checks: list[dict[str, Any]] = [{
        "name": "Exporter endpoint answers",
        "status": "pass" if ok else "fail",
        "expected": f"HTTP 200 from {url}",
        "observed": f"HTTP {scrape.get('status', '?')}" if ok else truncate(str(scrape.get("msg", "no answer"))),
        "message": "" if ok else "the accelerator metrics endpoint is unreachable: the platform has no working accelerator metrics",
    }]  # fmt: skip
    for m in metrics:
        s = series[m["name"]]
        checks.append({
            "name": f"Exporter exposes {m['name']} ({m['what']}) per GPU",
            "status": ("pass" if s["series"] > 0 and s["gpus"] > 0 else "fail") if ok else "skip",
            "required": _required(m),
            "expected": f"one series per GPU, labelled {gpu_label}",
            "observed": f"{s['series']} series for {s['gpus']} GPUs" if ok else "not read",
            "message": "" if ok else "not reached: the endpoint does not answer",
        })  # fmt: skip
    return checks


def prometheus_counts(answer: dict[str, Any] | None) -> dict[str, int]:
    results = ((answer or {}).get("data") or {}).get("result") or []
    return {r["metric"]["__name__"]: int(float(r["value"][1])) for r in results}


def prometheus_checks(counts: dict[str, int], metrics: list[dict[str, Any]], answered: bool, error: str,
                      prometheus_url: str) -> list[dict[str, Any]]:  # fmt: skip
    required = [m["name"] for m in metrics if _required(m)]
    optional = [m["name"] for m in metrics if not _required(m)]
    missing_required = [n for n in required if n not in counts]
    missing_optional = [n for n in optional if n not in counts]
    series = json.dumps(counts)  # as Ansible's to_json writes it
    return [
        {"name": "Prometheus has the required accelerator series",
         "status": "pass" if answered and not missing_required else "fail",
         "expected": f"{', '.join(required)} in {prometheus_url}",
         "observed": f"series per name {series}" if answered else f"Prometheus does not answer: {truncate(error)}"},
        {"name": "Prometheus has the other accelerator series",
         "required": False,
         "status": "pass" if answered and not missing_optional else "fail",
         "expected": ", ".join(optional),
         "observed": f"missing: {', '.join(missing_optional) or 'none'}"},
    ]  # fmt: skip


def _query_result(answer: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The vector of a registered Prometheus query (``[]`` for a skipped task or an answer without one)."""
    json_answer = (answer or {}).get("json")
    data = json_answer.get("data") if isinstance(json_answer, dict) else None
    return (data.get("result") or []) if isinstance(data, dict) else []


def _first_value(result: list[dict[str, Any]], missing: str = "none") -> str:
    """The first sample's value as Prometheus writes it, or ``missing`` (no series, or no value)."""
    value = (result[0].get("value") if result else None) or []
    return str(value[1]) if len(value) > 1 else missing


def accelerator_exporter_step(scrape: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """The exporter step: its series per metric (the file and the notebook output) and their checks.

    An endpoint that does not answer is a finding (the platform has no working accelerator
    metrics), so its error message is the output and the per-metric checks are skipped."""
    ok = scrape.get("status", -1) == 200
    url = sources["exporter_url"]
    series = exposition_series(scrape.get("content") or "", sources["metrics"], sources["gpu_label"])
    return {
        "title": "The exporter exposes per-GPU series",
        "command": f"curl -s {url} | grep -E '^DCGM_FI_DEV_'",
        "output": series if ok else scrape.get("msg", "no answer"),
        "checks": exporter_checks(series, sources["metrics"], scrape, url, sources["gpu_label"]),
        "files": [{"name": "exporter-series.yaml", "data": {
            "url": url, "status": scrape.get("status"), "error": "" if ok else scrape.get("msg", ""), "series": series}}],
    }  # fmt: skip


def accelerator_prometheus_step(answer: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """The Prometheus step: the series per metric name it holds, judged; ``facts.ok`` says whether
    Prometheus answered the query, which the workload step needs."""
    raw = answer.get("json")
    json_answer: dict[str, Any] = raw if isinstance(raw, dict) else {}
    ok = answer.get("status", -1) == 200 and json_answer.get("status", "") == "success"
    counts = prometheus_counts(json_answer)
    prom = sources["prometheus_url"]
    return {
        "title": "Prometheus collects the accelerator series",
        "command": f"curl -s '{prom}/api/v1/query' --data-urlencode 'query=count by (__name__) ({{__name__=~\"DCGM_FI_DEV_.*\"}})'",
        "output": counts if ok else answer.get("msg", "no answer"),
        "checks": prometheus_checks(counts, sources["metrics"], ok, str(answer.get("msg", "")), prom),
        "facts": {"ok": ok},
    }


def _pod_not_running(pod: dict[str, Any], phase: str, sources: dict[str, Any]) -> dict[str, Any]:
    """A GPU pod that never ran leaves attribution unchecked: an error of the lab, not a finding."""
    return {
        "title": "The GPU pod did not run",
        "command": f"kubectl get pod -n {sources['namespace']} {sources['pod']} -o wide",
        "output": pod.get("status") or {},
        "checks": [{
            "name": "GPU pod attributed on its GPU's series",
            "status": "error",
            "expected": f"the GPU pod Running within {sources['ready_timeout']}s",
            "observed": f"phase {phase}",
            "message": "the lab could not run a pod that asks for a GPU, so attribution could not be checked",
        }],
        "facts": {"running": False, "attributed": False, "before": "none"},
    }  # fmt: skip


def accelerator_pod_step(pod_info: dict[str, Any], series: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """The attribution step: the role's GPU pod shows up on a utilisation series labelled with its
    namespace and name. ``facts`` say whether it ran, whether it was attributed and the value before
    the work (the utilisation step compares against it)."""
    pod = ((pod_info or {}).get("resources") or [{}])[0] or {}
    phase = (pod.get("status") or {}).get("phase") or "unknown"
    if phase != "Running":
        return _pod_not_running(pod, phase, sources)
    node = (pod.get("spec") or {}).get("nodeName") or ""
    result = _query_result(series)
    first = result[0] if result else {}
    metric = first.get("metric") or {}
    return {
        "title": "The GPU pod's series carry its namespace and pod labels",
        "command": f"curl -s '{sources['prometheus_url']}/api/v1/query' --data-urlencode 'query={sources['pod_query']}'",
        "output": result,
        "checks": [{
            "name": "GPU pod attributed on its GPU's series",
            "status": "pass" if result else "fail",
            "expected": f"a {sources['util_metric']} series with namespace={sources['namespace']}, "
                        f"pod={sources['pod']} within {sources['series_timeout']}s",
            "observed": (f"{len(result)} series; GPU {metric.get(sources['gpu_label'], '?')} on {metric.get('Hostname', node)}, "
                         f"value {_first_value(result, '?')}") if result else "no series with the pod labels",
        }],
        "facts": {"running": True, "attributed": bool(result), "before": _first_value(result)},
    }  # fmt: skip


def accelerator_utilisation_step(later: dict[str, Any], attribution: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """The utilisation step: after the pod is put to work, its GPU's utilisation moves by at least
    ``util_delta``. ``facts.changed`` is the same judgement, for the task that waits for it."""
    before = str(attribution.get("before", "none"))
    after = _first_value(_query_result(later))
    changed = before != "none" and after != "none" and abs(float(after) - float(before)) >= float(sources["util_delta"])
    attributed = bool(attribution.get("attributed"))
    busy = " ".join(f"{k}={v}" for k, v in (sources.get("busy_annotations") or {}).items())
    prom = sources["prometheus_url"]
    return {
        "title": "The GPU utilisation follows the pod's work",
        "command": f"kubectl annotate pod -n {sources['namespace']} {sources['pod']} --overwrite {busy}; "
                   f"curl -s '{prom}/api/v1/query' --data-urlencode 'query={sources['pod_query']}'",
        "output": {"before": before, "after": after},
        "checks": [{
            "name": "GPU utilisation changes while the pod works",
            "status": ("pass" if changed else "fail") if attributed else "skip",
            "expected": f"{sources['util_metric']} of the pod's GPU moves by >= {sources['util_delta']}",
            "observed": f"{before} -> {after}",
            "message": "" if attributed else "not reached: the pod has no series",
        }],
        "facts": {"changed": changed},
    }  # fmt: skip


def scrape_targets(answer: dict[str, Any] | None, namespace: str) -> list[str]:
    """``<scrapeUrl> health=<health>[ error=<lastError>]`` of each active target (``/api/v1/targets``)
    whose ``namespace`` label is the given one."""
    targets = ((answer or {}).get("data") or {}).get("activeTargets") or []
    return [f"{t.get('scrapeUrl')} health={t.get('health')}" + (f" error={t['lastError']}" if t.get("lastError") else "")
            for t in targets if (t.get("labels") or {}).get("namespace", "") == namespace]  # fmt: skip


def _looped(result: dict[str, Any] | None, index: int) -> dict[str, Any]:
    """Item ``index`` of a looped task's registered result (``{}`` when the task was skipped)."""
    items = (result or {}).get("results") or []
    return items[index] if len(items) > index and isinstance(items[index], dict) else {}


def service_discovery_step(up: dict[str, Any], first: dict[str, Any], read: dict[str, Any],
                           sources: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The discovery step: Prometheus found the annotated Service (an ``up`` series, the active target)
    and collects the workload's metric with the namespace label.

    ``read`` is the loop over the workload's series, the active targets and the request counter
    before any traffic; ``facts`` carry ``collected`` and that counter to the traffic step."""
    ns = sources["namespace"]
    answered = up.get("status", -1) == 200
    up_result = _query_result(up)
    up_values = [str((r.get("value") or [None])[-1]) for r in up_result]
    collected = bool(_query_result(first))
    series = _query_result(_looped(read, 0))
    targets_json = _looped(read, 1).get("json")
    targets = scrape_targets(targets_json if isinstance(targets_json, dict) else {}, ns)
    before = _first_value(_query_result(_looped(read, 2)), "0")
    names = list(dict.fromkeys(str((s.get("metric") or {}).get("__name__")) for s in series))
    selector = f'{{__name__=~"{sources["metric_regex"]}",namespace="{ns}"}}'
    return {
        "title": "Prometheus discovers the annotated Service and collects the workload's metric",
        "command": f"curl -s '{sources['prometheus_url']}/api/v1/query' --data-urlencode 'query={selector}'",
        "output": {"up": up_values, "targets": targets, "series": [s.get("metric") for s in series]},
        "checks": [
            {"name": "Prometheus discovers the workload",
             "status": "pass" if up_result else "fail",
             "expected": f"a scrape target for Service {ns}/ai-workload within {sources['discovery_timeout']}s",
             "observed": ("; ".join(targets) or "up=" + ",".join(up_values)) if answered
                         else f"Prometheus does not answer: {truncate(str(up.get('msg', '')))}"},
            {"name": "Workload metric collected with the namespace label",
             "status": "pass" if collected else "fail",
             "expected": f"series {selector} in Prometheus",
             "observed": f"{len(series)} series: {', '.join(names)}" if collected
                         else f"no series (scrape target up={','.join(up_values) or 'none'})"},
        ],
        "files": [{"name": "prometheus-observed.yaml", "data": {"up": up_result, "targets": targets, "series": series}}],
        "facts": {"collected": collected, "counter_before": float(before)},
    }  # fmt: skip


def requests_answered(sent: dict[str, Any] | None) -> int:
    """How many of the looped requests were answered with HTTP 200 (a request that failed is not traffic)."""
    return sum(1 for r in (sent or {}).get("results") or [] if isinstance(r, dict) and r.get("status") == 200)


def service_traffic_step(after: dict[str, Any], sent: dict[str, Any], discovery: dict[str, Any],
                         sources: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The traffic step: the request counter grows by at least the requests answered. Traffic is only
    sent once the metric is collected; before that the step says so and its check is skipped.
    ``facts.grew`` is the judgement, for the task that waits for it."""
    check = {"name": "Metric value reflects the traffic sent"}
    if not discovery.get("collected"):
        return {"title": "Traffic not sent",
                "checks": [{**check, "status": "skip", "message": "not reached - Prometheus does not collect the workload's metric"}],
                "facts": {"grew": False}}  # fmt: skip
    answered = requests_answered(sent)
    before = float(discovery.get("counter_before", 0.0))
    after_value = _first_value(_query_result(after))
    grew = answered > 0 and after_value != "none" and float(after_value) >= before + answered
    ns, metric, prom = sources["namespace"], sources["metric"], sources["prometheus_url"]
    body = json.dumps(sources["traffic_body"])  # as Ansible's to_json writes it
    return {
        "title": "The collected value follows the traffic sent",
        "command": f"for i in $(seq {sources['requests']}); do curl -s {sources['traffic_url']} -H 'Content-Type: application/json' "
                   f"-d '{body}'; done; curl -s '{prom}/api/v1/query' --data-urlencode 'query=sum({metric}{{namespace=\"{ns}\"}})'",
        "output": {"requests_sent": sources["requests"], "requests_answered": answered,
                   "counter_before": before, "counter_after": after_value},
        "checks": [{**check,
                    "status": ("pass" if grew else "fail") if answered else "error",
                    "expected": f"sum({metric}) grows by >= {answered} (the requests answered) within {sources['traffic_timeout']}s",
                    "observed": f"{before} -> {after_value}",
                    "message": "" if answered else "no request was answered, so the traffic could not be sent"}],
        "facts": {"grew": grew},
    }  # fmt: skip


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "exposition_series": exposition_series,
            "exporter_checks": exporter_checks,
            "prometheus_counts": prometheus_counts,
            "prometheus_checks": prometheus_checks,
            "scrape_targets": scrape_targets,
            "accelerator_exporter_step": accelerator_exporter_step,
            "accelerator_prometheus_step": accelerator_prometheus_step,
            "accelerator_pod_step": accelerator_pod_step,
            "accelerator_utilisation_step": accelerator_utilisation_step,
            "service_discovery_step": service_discovery_step,
            "requests_answered": requests_answered,
            "service_traffic_step": service_traffic_step,
        }
