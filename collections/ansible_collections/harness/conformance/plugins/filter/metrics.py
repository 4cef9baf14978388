# Copyright: harness developers
# Apache-2.0 (see galaxy.yml)
"""What an accelerator metrics exporter exposes and what Prometheus holds (``verify_accelerator_metrics``).

- ``exposition_series``: per metric of interest, how many series a Prometheus text exposition has, for
  how many GPUs (distinct values of the GPU label), and two sample lines;
- ``exporter_checks``: the endpoint answered, and each metric is exposed per GPU;
- ``prometheus_counts`` / ``prometheus_checks``: the series per metric name in a
  ``count by (__name__)`` query result, and whether the required and the other metrics are there.

- ``scrape_targets``: Prometheus's active targets of one namespace, one line each (``verify_ai_service_metrics``).

A metric's ``required`` defaults to true.
"""

from __future__ import annotations

import json
import re
from typing import Any

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
positional: _input
options:
  _input:
    description: The exposition text, the series, the query answer or the counts, depending on the filter.
    type: raw
    required: true
"""


def truncate(text: str, length: int = 300) -> str:
    """As Jinja's truncate filter (leeway 5, whole words, '...')."""
    if len(text) <= length + 5:
        return text
    return text[: length - 3].rsplit(" ", 1)[0] + "..."


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


def scrape_targets(answer: dict[str, Any] | None, namespace: str) -> list[str]:
    """``<scrapeUrl> health=<health>[ error=<lastError>]`` of each active target (``/api/v1/targets``)
    whose ``namespace`` label is the given one."""
    targets = ((answer or {}).get("data") or {}).get("activeTargets") or []
    return [f"{t.get('scrapeUrl')} health={t.get('health')}" + (f" error={t['lastError']}" if t.get("lastError") else "")
            for t in targets if (t.get("labels") or {}).get("namespace", "") == namespace]  # fmt: skip


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "exposition_series": exposition_series,
            "exporter_checks": exporter_checks,
            "prometheus_counts": prometheus_counts,
            "prometheus_checks": prometheus_checks,
            "scrape_targets": scrape_targets,
        }
