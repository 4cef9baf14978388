"""The judgement of verify_accelerator_metrics (plugins/filter/metrics.py), on the exposition and the
Prometheus answer recorded from the simulated lab (data/metrics/)."""

from __future__ import annotations

import copy
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


# --- the judged steps of verify_accelerator_metrics, on what its tasks registered in lab runs ---

HEALTHY = json.loads((DATA / "accelerator-healthy.json").read_text())
STOPPED = json.loads((DATA / "accelerator-exporter-stopped.json").read_text())
CLOSED = json.loads((DATA / "accelerator-exporter-closed-port.json").read_text())
NS = "harness-accel-20261203t120539z-98d0a5"  # the healthy run's namespace
SOURCES: dict[str, Any] = {
    "exporter_url": URL, "prometheus_url": "http://127.0.0.1:19090", "metrics": METRICS, "gpu_label": "UUID",
    "util_metric": "DCGM_FI_DEV_GPU_UTIL", "util_delta": 20,
    "busy_annotations": {"harness.dev/simulated-gpu-utilization": "85"},
    "namespace": NS, "pod": "harness-gpu-work",
    "pod_query": f'DCGM_FI_DEV_GPU_UTIL{{namespace="{NS}",pod="harness-gpu-work"}}',
    "ready_timeout": 120, "series_timeout": 90,
}  # fmt: skip  (the role's defaults, as vars/main.yml templates them)


def test_exporter_step_of_a_healthy_exporter() -> None:
    step = mx.accelerator_exporter_step({"status": 200, "msg": "OK (17885 bytes)", "content": TEXT}, SOURCES)
    assert step["title"] == "The exporter exposes per-GPU series"
    assert step["command"] == f"curl -s {URL} | grep -E '^DCGM_FI_DEV_'"
    assert [c["status"] for c in step["checks"]] == ["pass"] * 6
    assert step["output"] == mx.exposition_series(TEXT, METRICS, "UUID")
    (saved,) = step["files"]
    assert saved["name"] == "exporter-series.yaml"
    assert saved["data"] == {"url": URL, "status": 200, "error": "", "series": step["output"]}


def test_exporter_step_of_a_stopped_exporter() -> None:
    for run in (STOPPED, CLOSED):
        step = mx.accelerator_exporter_step(run["scrape"], SOURCES)
        assert step["output"] == run["scrape"]["msg"]
        assert [c["status"] for c in step["checks"]] == ["fail"] + ["skip"] * 5
        assert step["checks"][0]["observed"] == run["scrape"]["msg"]
        assert step["files"][0]["data"]["status"] == -1 and step["files"][0]["data"]["error"] == run["scrape"]["msg"]


def test_prometheus_step_of_a_healthy_lab() -> None:
    step = mx.accelerator_prometheus_step(HEALTHY["prom_names"], SOURCES)
    assert step["facts"] == {"ok": True}
    assert step["output"] == dict.fromkeys([m["name"] for m in METRICS], 16)
    assert [c["status"] for c in step["checks"]] == ["pass", "pass"]
    assert step["command"] == ("curl -s 'http://127.0.0.1:19090/api/v1/query' --data-urlencode "
                               "'query=count by (__name__) ({__name__=~\"DCGM_FI_DEV_.*\"})'")  # fmt: skip


def test_prometheus_step_without_the_exporter_still_answers() -> None:
    """With the exporter stopped, Prometheus answers but holds no accelerator series: the workload step still runs."""
    step = mx.accelerator_prometheus_step(STOPPED["prom_names"], SOURCES)
    assert step["facts"] == {"ok": True} and step["output"] == {}
    assert [c["status"] for c in step["checks"]] == ["fail", "fail"]
    assert step["checks"][0]["observed"] == "series per name {}"


def test_prometheus_step_that_does_not_answer() -> None:
    refused = {"status": -1, "msg": "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] Connection refused>"}
    step = mx.accelerator_prometheus_step(refused, SOURCES)
    assert step["facts"] == {"ok": False} and step["output"] == refused["msg"]
    assert step["checks"][0]["observed"] == f"Prometheus does not answer: {refused['msg']}"
    error = mx.accelerator_prometheus_step({"status": 200, "msg": "OK", "json": {"status": "error"}}, SOURCES)
    assert error["facts"] == {"ok": False} and error["output"] == "OK"


def test_pod_step_attributed() -> None:
    step = mx.accelerator_pod_step(HEALTHY["pod_info"], HEALTHY["pod_series"], SOURCES)
    assert step["title"] == "The GPU pod's series carry its namespace and pod labels"
    (check,) = step["checks"]
    assert check["status"] == "pass"
    assert check["expected"] == f"a DCGM_FI_DEV_GPU_UTIL series with namespace={NS}, pod=harness-gpu-work within 90s"
    assert check["observed"] == "1 series; GPU GPU-1c806d4a-7784-5ed9-b71c-58df5c4603fd on sim-gpu-0, value 15"
    assert step["output"] == HEALTHY["pod_series"]["json"]["data"]["result"]
    assert step["facts"] == {"running": True, "attributed": True, "before": "15"}


def test_pod_step_without_series() -> None:
    step = mx.accelerator_pod_step(STOPPED["pod_info"], STOPPED["pod_series"], SOURCES)
    assert step["checks"][0]["status"] == "fail" and step["checks"][0]["observed"] == "no series with the pod labels"
    assert step["output"] == [] and step["facts"] == {"running": True, "attributed": False, "before": "none"}


def test_pod_step_of_a_pod_that_did_not_run() -> None:
    """The recorded Running pod turned back to Pending, as the scheduler leaves a pod no node has a GPU for."""
    pod = copy.deepcopy(HEALTHY["pod_info"]["resources"][0])
    pod["status"] = {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}
    step = mx.accelerator_pod_step({"resources": [pod]}, {"skipped": True}, SOURCES)
    assert step["title"] == "The GPU pod did not run"
    assert step["command"] == f"kubectl get pod -n {NS} harness-gpu-work -o wide" and step["output"] == pod["status"]
    (check,) = step["checks"]
    assert (check["status"], check["observed"]) == ("error", "phase Pending")
    assert check["expected"] == "the GPU pod Running within 120s"
    assert step["facts"] == {"running": False, "attributed": False, "before": "none"}
    assert mx.accelerator_pod_step({"failed": True, "msg": "no API"}, {}, SOURCES)["checks"][0]["observed"] == "phase unknown"


def test_utilisation_step_follows_the_work() -> None:
    attribution = mx.accelerator_pod_step(HEALTHY["pod_info"], HEALTHY["pod_series"], SOURCES)["facts"]
    step = mx.accelerator_utilisation_step(HEALTHY["pod_later"], attribution, SOURCES)
    assert step["output"] == {"before": "15", "after": "85"} and step["facts"] == {"changed": True}
    (check,) = step["checks"]
    assert (check["status"], check["observed"], check["message"]) == ("pass", "15 -> 85", "")
    assert check["expected"] == "DCGM_FI_DEV_GPU_UTIL of the pod's GPU moves by >= 20"
    assert step["command"] == (f"kubectl annotate pod -n {NS} harness-gpu-work --overwrite harness.dev/simulated-gpu-utilization=85; "
                               f"curl -s 'http://127.0.0.1:19090/api/v1/query' --data-urlencode 'query={SOURCES['pod_query']}'")  # fmt: skip


def test_utilisation_that_does_not_move_enough_fails() -> None:
    attribution = {"running": True, "attributed": True, "before": "15"}
    unmoved = mx.accelerator_utilisation_step(HEALTHY["pod_series"], attribution, SOURCES)  # still 15
    assert unmoved["checks"][0]["status"] == "fail" and unmoved["checks"][0]["observed"] == "15 -> 15"
    assert unmoved["facts"] == {"changed": False}
    gone = mx.accelerator_utilisation_step(STOPPED["pod_series"], attribution, SOURCES)  # the series went away
    assert gone["checks"][0]["status"] == "fail" and gone["checks"][0]["observed"] == "15 -> none"


def test_utilisation_step_without_series_is_skipped() -> None:
    attribution = mx.accelerator_pod_step(STOPPED["pod_info"], STOPPED["pod_series"], SOURCES)["facts"]
    step = mx.accelerator_utilisation_step({"skipped": True}, attribution, SOURCES)
    (check,) = step["checks"]
    assert (check["status"], check["observed"], check["message"]) == ("skip", "none -> none", "not reached: the pod has no series")
    assert step["output"] == {"before": "none", "after": "none"}


# --- the judged steps of verify_ai_service_metrics, on what its tasks registered in lab runs ---

AI_HEALTHY = json.loads((DATA / "ai-service-healthy.json").read_text())
AI_WRONG_PORT = json.loads((DATA / "ai-service-wrong-scrape-port.json").read_text())
AI_NS = "harness-aism-20261203t120845z-e58624"  # the healthy run's namespace
AI_SOURCES: dict[str, Any] = {
    "prometheus_url": "http://127.0.0.1:19090", "namespace": AI_NS, "metric_regex": "model_server_.+",
    "metric": "model_server_requests_total", "discovery_timeout": 90, "traffic_timeout": 60,
    "traffic_url": "http://10.250.0.2:8001/v1/completions",
    "traffic_body": {"model": "sim-llm-a", "prompt": "harness ai_service_metrics probe", "max_tokens": 4},
    "requests": 10,
}  # fmt: skip  (the role's defaults, as vars/main.yml templates them)


def discovery(run: dict[str, Any], sources: dict[str, Any] = AI_SOURCES) -> dict[str, Any]:
    return mx.service_discovery_step(run["up"], run["first"], run["read"], sources)


def test_discovery_step_of_a_healthy_workload() -> None:
    step = discovery(AI_HEALTHY)
    discovered, collected = step["checks"]
    assert (discovered["status"], discovered["observed"]) == ("pass", "http://10.250.0.2:8001/metrics health=up")
    assert discovered["expected"] == f"a scrape target for Service {AI_NS}/ai-workload within 90s"
    assert collected["status"] == "pass"
    assert collected["expected"] == f'series {{__name__=~"model_server_.+",namespace="{AI_NS}"}} in Prometheus'
    assert collected["observed"] == (
        "31 series: model_server_generation_tokens_total, model_server_prompt_tokens_total, "
        "model_server_request_duration_seconds_bucket, model_server_request_duration_seconds_count, "
        "model_server_request_duration_seconds_sum, model_server_requests_running, model_server_requests_total")
    assert step["output"]["up"] == ["1"] and step["output"]["targets"] == ["http://10.250.0.2:8001/metrics health=up"]
    assert len(step["output"]["series"]) == 31 and "__name__" in step["output"]["series"][0]
    (saved,) = step["files"]
    assert saved["name"] == "prometheus-observed.yaml" and list(saved["data"]) == ["up", "targets", "series"]
    assert step["facts"] == {"collected": True, "counter_before": 976.0}
    assert step["command"] == ("curl -s 'http://127.0.0.1:19090/api/v1/query' --data-urlencode "
                               f"'query={{__name__=~\"model_server_.+\",namespace=\"{AI_NS}\"}}'")  # fmt: skip


def test_discovery_step_of_a_wrong_scrape_port() -> None:
    ns = "harness-aism-20261203t120917z-95a257"
    step = discovery(AI_WRONG_PORT, {**AI_SOURCES, "namespace": ns, "discovery_timeout": 20})
    discovered, collected = step["checks"]
    assert discovered["status"] == "pass" and "10.250.0.2:9/metrics health=down error=" in discovered["observed"]
    assert (collected["status"], collected["observed"]) == ("fail", "no series (scrape target up=0)")
    assert step["facts"] == {"collected": False, "counter_before": 0.0}  # the counter is absent: 0 (or vector(0))


def test_discovery_step_without_a_target_or_prometheus() -> None:
    empty = {"status": 200, "json": {"status": "success", "data": {"resultType": "vector", "result": []}}}
    step = mx.service_discovery_step(empty, empty, {"results": []}, AI_SOURCES)
    assert [c["status"] for c in step["checks"]] == ["fail", "fail"]
    assert step["checks"][0]["observed"] == "up="  # as before: no target line and no up value
    assert step["checks"][1]["observed"] == "no series (scrape target up=none)"
    refused = {"status": -1, "msg": "Status code was -1: Request failed: <urlopen error [Errno 111] Connection refused>"}
    down = mx.service_discovery_step(refused, {"skipped": True}, {"skipped": True}, AI_SOURCES)
    assert down["checks"][0]["observed"] == f"Prometheus does not answer: {refused['msg']}"
    assert down["facts"] == {"collected": False, "counter_before": 0.0}


def test_traffic_step_follows_the_requests() -> None:
    facts = discovery(AI_HEALTHY)["facts"]
    assert mx.requests_answered(AI_HEALTHY["sent"]) == 10
    step = mx.service_traffic_step(AI_HEALTHY["after"], AI_HEALTHY["sent"], facts, AI_SOURCES)
    assert step["output"] == {"requests_sent": 10, "requests_answered": 10, "counter_before": 976.0, "counter_after": "986"}
    (check,) = step["checks"]
    assert (check["status"], check["observed"], check["message"]) == ("pass", "976.0 -> 986", "")
    assert check["expected"] == "sum(model_server_requests_total) grows by >= 10 (the requests answered) within 60s"
    assert step["facts"] == {"grew": True}
    assert step["command"] == (
        "for i in $(seq 10); do curl -s http://10.250.0.2:8001/v1/completions -H 'Content-Type: application/json' "
        "-d '{\"model\": \"sim-llm-a\", \"prompt\": \"harness ai_service_metrics probe\", \"max_tokens\": 4}'; done; "
        f"curl -s 'http://127.0.0.1:19090/api/v1/query' --data-urlencode 'query=sum(model_server_requests_total{{namespace=\"{AI_NS}\"}})'")


def test_traffic_that_the_counter_does_not_follow_fails() -> None:
    facts = {"collected": True, "counter_before": 980.0}  # 980 + 10 answered > 986
    step = mx.service_traffic_step(AI_HEALTHY["after"], AI_HEALTHY["sent"], facts, AI_SOURCES)
    assert step["checks"][0]["status"] == "fail" and step["facts"] == {"grew": False}
    gone = mx.service_traffic_step({"status": 200, "json": {"data": {"result": []}}}, AI_HEALTHY["sent"], facts, AI_SOURCES)
    assert gone["checks"][0]["observed"] == "980.0 -> none" and gone["checks"][0]["status"] == "fail"


def test_traffic_nobody_answered_is_an_error() -> None:
    refused = {"results": [{"status": -1, "msg": "Connection refused"}] * 10}
    assert mx.requests_answered(refused) == 0
    step = mx.service_traffic_step({"skipped": True}, refused, {"collected": True, "counter_before": 976.0}, AI_SOURCES)
    (check,) = step["checks"]
    assert (check["status"], check["observed"]) == ("error", "976.0 -> none")
    assert check["message"] == "no request was answered, so the traffic could not be sent"
    assert step["output"]["requests_answered"] == 0


def test_traffic_not_sent_when_the_metric_is_not_collected() -> None:
    facts = discovery(AI_WRONG_PORT)["facts"]
    skipped = {"skipped": True, "results": [{"skipped": True, "item": i} for i in range(10)]}
    assert mx.requests_answered(skipped) == 0
    step = mx.service_traffic_step({"skipped": True}, skipped, facts, AI_SOURCES)
    assert step == {"title": "Traffic not sent", "facts": {"grew": False}, "checks": [{
        "name": "Metric value reflects the traffic sent", "status": "skip",
        "message": "not reached - Prometheus does not collect the workload's metric"}]}  # fmt: skip
