"""The judgement of verify_accelerator_metrics (plugins/filter/metrics.py), on the exposition and the
Prometheus answer recorded from the simulated lab (data/metrics/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from unit_fixtures import load_filter_plugin

mx = load_filter_plugin("metrics")
DATA = Path(__file__).parent / "data" / "metrics"
TEXT = (DATA / "dcgm-exporter.txt").read_text()
ANSWER = json.loads((DATA / "prometheus-count-by-name.json").read_text())
METRICS: list[dict[str, Any]] = [
    {"name": "DCGM_FI_DEV_GPU_UTIL", "what": "utilisation", "required": True},
    {"name": "DCGM_FI_DEV_FB_USED", "what": "memory used", "required": True},
    {"name": "DCGM_FI_DEV_FB_FREE", "what": "memory free", "required": False},
    {"name": "DCGM_FI_DEV_GPU_TEMP", "what": "temperature", "required": False},
    {"name": "DCGM_FI_DEV_POWER_USAGE", "what": "power", "required": False},
]  # the role's defaults
URL = "http://127.0.0.1:19400/metrics"


def test_sixteen_gpus_one_series_each() -> None:
    series = mx.exposition_series(TEXT, METRICS, "UUID")
    assert {n: (s["series"], s["gpus"]) for n, s in series.items()} == dict.fromkeys(series, (16, 16))
    assert series["DCGM_FI_DEV_GPU_UTIL"]["sample"][0].startswith("DCGM_FI_DEV_GPU_UTIL{")


def test_a_metric_name_is_not_a_prefix_match() -> None:
    series = mx.exposition_series(TEXT, [{"name": "DCGM_FI_DEV_FB", "what": "x"}], "UUID")
    assert series["DCGM_FI_DEV_FB"]["series"] == 0  # DCGM_FI_DEV_FB_USED is another metric


def test_healthy_exporter_passes() -> None:
    checks = mx.exporter_checks(mx.exposition_series(TEXT, METRICS, "UUID"), METRICS, {"status": 200}, URL, "UUID")
    assert [c["status"] for c in checks] == ["pass"] * 6
    assert [c["required"] for c in checks[1:]] == [True, True, False, False, False]


def test_series_without_the_gpu_label_fail() -> None:
    checks = mx.exporter_checks(mx.exposition_series(TEXT, METRICS, "gpu_uuid"), METRICS, {"status": 200}, URL, "gpu_uuid")
    assert [c["status"] for c in checks] == ["pass"] + ["fail"] * 5
    assert checks[1]["observed"] == "16 series for 0 GPUs"


def test_unreachable_exporter_fails_and_skips_the_rest() -> None:
    msg = "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] Connection refused> " * 4
    checks = mx.exporter_checks(mx.exposition_series("", METRICS, "UUID"), METRICS, {"status": -1, "msg": msg}, URL, "UUID")
    assert [c["status"] for c in checks] == ["fail"] + ["skip"] * 5
    assert checks[0]["observed"].endswith("...") and len(checks[0]["observed"]) <= 300


def test_prometheus_holds_every_series() -> None:
    counts = mx.prometheus_counts(ANSWER)
    assert counts == dict.fromkeys([m["name"] for m in METRICS], 16)
    checks = mx.prometheus_checks(counts, METRICS, True, "", "http://127.0.0.1:19090")
    assert [c["status"] for c in checks] == ["pass", "pass"] and checks[1]["observed"] == "missing: none"


def test_missing_series_are_named_in_order() -> None:
    counts = {"DCGM_FI_DEV_GPU_UTIL": 16}
    required, optional = mx.prometheus_checks(counts, METRICS, True, "", "http://127.0.0.1:19090")
    assert required["status"] == "fail" and optional["status"] == "fail"
    assert optional["observed"] == "missing: DCGM_FI_DEV_FB_FREE, DCGM_FI_DEV_GPU_TEMP, DCGM_FI_DEV_POWER_USAGE"


def test_prometheus_that_does_not_answer_fails() -> None:
    required, _ = mx.prometheus_checks({}, METRICS, False, "Connection refused", "http://127.0.0.1:19090")
    assert required["status"] == "fail" and required["observed"] == "Prometheus does not answer: Connection refused"


def test_truncate_is_jinjas() -> None:
    assert mx.truncate("a" * 305) == "a" * 305  # within the leeway
    assert mx.truncate("word " * 100) == ("word " * 100)[:297].rsplit(" ", 1)[0] + "..."


def test_scrape_targets_of_one_namespace() -> None:
    answer = {"data": {"activeTargets": [
        {"scrapeUrl": "http://10.250.0.5:8000/metrics", "health": "up", "lastError": "", "labels": {"namespace": "ns1"}},
        {"scrapeUrl": "http://10.250.0.6:9999/metrics", "health": "down", "lastError": "connection refused",
         "labels": {"namespace": "ns1"}},
        {"scrapeUrl": "http://10.250.0.7:8000/metrics", "health": "up", "lastError": "", "labels": {"namespace": "other"}},
    ]}}  # fmt: skip
    assert mx.scrape_targets(answer, "ns1") == ["http://10.250.0.5:8000/metrics health=up",
                                                "http://10.250.0.6:9999/metrics health=down error=connection refused"]  # fmt: skip
    assert mx.scrape_targets({}, "ns1") == [] and mx.scrape_targets(None, "ns1") == []
