"""The simulated DCGM exporter, on fake cluster data (no API server)."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harness.simlab import dcgm_exporter as dx

SERIES = re.compile(r'^(?P<name>[A-Z_]+)\{(?P<labels>[^}]*)\} (?P<value>-?[0-9.]+)$')


def node(name: str, gpus: int = 4, gpu_present: bool = True) -> dict[str, Any]:
    labels = {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu.memory": "81559"}
    if gpu_present:
        labels["nvidia.com/gpu.present"] = "true"
    return {"metadata": {"name": name, "labels": labels},
            "status": {"allocatable": {"nvidia.com/gpu": str(gpus), "cpu": "32"}}}


def pod(name: str, node_name: str, gpus: int = 0, *, ns: str = "default", created: str = "2026-01-01T00:00:00Z",
        phase: str = "Running", util: str | None = None, claims: list[dict[str, Any]] | None = None,
        claim_statuses: list[dict[str, str]] | None = None, container_claims: list[dict[str, str]] | None = None,
        ) -> dict[str, Any]:
    ann = {dx.UTIL_ANNOTATION: util} if util is not None else {}
    main: dict[str, Any] = {"name": "main", "resources": {}}
    if gpus:
        main["resources"]["limits"] = {"nvidia.com/gpu": str(gpus)}
    if container_claims:
        main["resources"]["claims"] = container_claims
    return {
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}", "creationTimestamp": created,
                     "annotations": ann},
        "spec": {"nodeName": node_name, "containers": [{"name": "sidecar"}, main],
                 "resourceClaims": claims or []},
        "status": {"phase": phase, "resourceClaimStatuses": claim_statuses or []},
    }


def parse(text: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) DCGM_FI_DEV_[A-Z_]+ .+$", line), line
            continue
        m = SERIES.match(line)
        assert m, f"not an exposition line: {line!r}"
        lbls = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m["labels"]))
        out.append((m["name"], lbls, float(m["value"])))
    return out


def series(text: str, metric: str) -> dict[str, tuple[dict[str, str], float]]:
    """gpu index -> (labels, value) for one metric of one node's output."""
    return {lbl["gpu"]: (lbl, v) for name, lbl, v in parse(text) if name == metric}


def run(state: dx.ClusterState, previous: dx.Assignment | None = None) -> tuple[str, dx.Assignment]:
    samples, assignment = dx.snapshot(state, previous)
    return dx.render(samples), assignment


def test_idle_node_reports_every_gpu_at_zero_with_help_and_type() -> None:
    text, _ = run(dx.ClusterState(nodes=[node("gpu-node-0"), node("cpu-node", gpu_present=False)]))
    for metric, _, _ in dx.METRICS:
        assert f"# HELP {metric} " in text and f"# TYPE {metric} gauge" in text
        assert len(series(text, metric)) == 4, metric
    util = series(text, "DCGM_FI_DEV_GPU_UTIL")
    assert all(v == 0 for _, v in util.values())
    lbl, _ = util["2"]
    assert lbl["device"] == "nvidia2" and lbl["Hostname"] == "gpu-node-0"
    assert lbl["modelName"] == "NVIDIA H100 80GB HBM3" and lbl["UUID"].startswith("GPU-")
    assert "pod" not in lbl
    assert "cpu-node" not in text
    free = series(text, "DCGM_FI_DEV_FB_FREE")
    assert free["0"][1] == 81559


def test_device_plugin_pod_gets_gpus_labels_and_annotated_utilisation() -> None:
    state = dx.ClusterState(nodes=[node("n0")], pods=[pod("trainer", "n0", gpus=2, ns="ml", util="75")])
    text, _ = run(state)
    util = series(text, "DCGM_FI_DEV_GPU_UTIL")
    for idx in ("0", "1"):
        lbl, v = util[idx]
        assert (lbl["namespace"], lbl["pod"], lbl["container"], v) == ("ml", "trainer", "main", 75)
    assert util["2"][1] == 0 and "pod" not in util["2"][0]
    used = series(text, "DCGM_FI_DEV_FB_USED")
    assert used["0"][1] > 0 and used["2"][1] == 0
    clock = series(text, "DCGM_FI_DEV_SM_CLOCK")
    assert clock["0"][1] > clock["2"][1]


def test_pods_not_running_or_on_other_nodes_hold_nothing() -> None:
    state = dx.ClusterState(
        nodes=[node("n0"), node("cpu", gpu_present=False)],
        pods=[pod("pending", "n0", gpus=1, phase="Pending"), pod("elsewhere", "cpu", gpus=1)],
    )
    text, _ = run(state)
    assert 'pod="' not in text


def test_assignment_is_oldest_first_and_sticky() -> None:
    old = pod("old", "n0", gpus=1, created="2026-01-01T00:00:00Z")
    new = pod("new", "n0", gpus=1, created="2026-01-02T00:00:00Z")
    text, assignment = run(dx.ClusterState(nodes=[node("n0")], pods=[new, old]))
    util = series(text, "DCGM_FI_DEV_GPU_UTIL")
    assert util["0"][0]["pod"] == "old" and util["1"][0]["pod"] == "new"
    # "old" finishes: "new" keeps GPU 1 rather than sliding to GPU 0.
    text, _ = run(dx.ClusterState(nodes=[node("n0")], pods=[new]), assignment)
    util = series(text, "DCGM_FI_DEV_GPU_UTIL")
    assert util["1"][0]["pod"] == "new" and "pod" not in util["0"][0]


def test_dra_claim_allocation_marks_the_allocated_device() -> None:
    slices: list[dict[str, Any]] = [{"spec": {"driver": "gpu.nvidia.com", "nodeName": "n0", "pool": {"name": "n0"},
                        "devices": [{"name": f"gpu-{i}", "attributes": {"uuid": {"string": f"GPU-fixed-{i}"}}}
                                    for i in range(4)]}}]
    claim = {"metadata": {"name": "infer-gpu-abc12", "namespace": "ml"},
             "status": {"allocation": {"devices": {"results": [
                 {"request": "gpu", "driver": "gpu.nvidia.com", "pool": "n0", "device": "gpu-3"}]}}}}
    p = pod("infer", "n0", ns="ml", util="40", claims=[{"name": "gpu", "resourceClaimTemplateName": "one-gpu"}],
            claim_statuses=[{"name": "gpu", "resourceClaimName": "infer-gpu-abc12"}],
            container_claims=[{"name": "gpu"}])
    # a device-plugin pod on the same node must not be handed the DRA-held GPU
    dp = pod("dp", "n0", gpus=4, created="2025-01-01T00:00:00Z")
    text, _ = run(dx.ClusterState(nodes=[node("n0")], pods=[p, dp], claims=[claim], slices=slices))
    util = series(text, "DCGM_FI_DEV_GPU_UTIL")
    lbl, v = util["3"]
    assert (lbl["pod"], lbl["namespace"], lbl["container"], lbl["UUID"], v) == ("infer", "ml", "main", "GPU-fixed-3", 40)
    assert [util[i][0].get("pod") for i in "012"] == ["dp", "dp", "dp"]


def test_dra_claim_without_slice_uses_device_name_convention() -> None:
    claim = {"metadata": {"name": "c", "namespace": "default"},
             "status": {"allocation": {"devices": {"results": [
                 {"request": "r", "driver": "gpu.nvidia.com", "pool": "n0", "device": "gpu-1"},
                 {"request": "r", "driver": "other.example.com", "pool": "n0", "device": "nic-2"}]}}}}
    p = pod("p", "n0", claims=[{"name": "c", "resourceClaimName": "c"}])
    text, _ = run(dx.ClusterState(nodes=[node("n0")], pods=[p], claims=[claim]))
    util = series(text, "DCGM_FI_DEV_GPU_UTIL")
    assert util["1"][0]["pod"] == "p" and util["1"][1] == dx.DEFAULT_HELD_UTILIZATION
    assert "pod" not in util["2"][0]


@pytest.mark.parametrize(("value", "expected"), [
    (None, 100.0), ("75", 75.0), ("75%", 75.0), ("10-30", 20.0), ("250", 100.0), ("-5", 0.0), ("busy", 100.0),
])
def test_parse_utilization(value: str | None, expected: float) -> None:
    assert dx.parse_utilization(value, 100.0) == expected


def test_label_values_are_escaped() -> None:
    n = node("n0", gpus=1)
    n["metadata"]["labels"]["nvidia.com/gpu.product"] = 'odd"model\\x'
    text, _ = run(dx.ClusterState(nodes=[n]))
    assert 'modelName="odd\\"model\\\\x"' in text
    parse(text)


def test_uuid_is_stable() -> None:
    assert dx.gpu_uuid("n0", 1) == dx.gpu_uuid("n0", 1) != dx.gpu_uuid("n0", 2)


class BrokenSource:
    def fetch(self) -> dx.ClusterState:
        raise ConnectionError("apiserver down")


def test_exporter_keeps_last_snapshot_and_reports_staleness() -> None:
    now = [0.0]
    ex = dx.Exporter(BrokenSource(), clock=lambda: now[0])
    ex.refresh()
    assert ex.metrics() is None and not ex.healthy(10) and "apiserver down" in (ex.last_error or "")


def test_http_server_serves_metrics_and_healthz(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"nodes": [node("n0", gpus=2)], "pods": [pod("p", "n0", gpus=1, util="60")]}))
    ex = dx.Exporter(dx.FileSource(state))
    ex.refresh()
    server = ThreadingHTTPServer(("127.0.0.1", 0), dx.make_handler(ex, 60))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
            assert r.status == 200 and "version=0.0.4" in r.headers["Content-Type"]
            body = r.read().decode()
        assert 'DCGM_FI_DEV_GPU_UTIL{gpu="0"' in body and 'pod="p"' in body
        with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
            assert r.status == 200
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(base + "/nope", timeout=5)
        assert err.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_main_once_prints_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"nodes": [node("n0", gpus=1)]}))
    assert dx.main(["--state-file", str(state), "--once"]) == 0
    assert "DCGM_FI_DEV_FB_FREE{" in capsys.readouterr().out


def test_an_unchanged_cluster_is_not_rendered_again_a_changed_one_is(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state.json"
    nodes = [node("n0", gpus=2)]
    state.write_text(json.dumps({"nodes": nodes, "pods": [pod("p", "n0", gpus=1, util="60")]}))
    ex = dx.Exporter(dx.FileSource(state))
    renders: list[int] = []
    real_render = dx.render
    monkeypatch.setattr(dx, "render", lambda samples: renders.append(len(samples)) or real_render(samples))
    ex.refresh()
    first = ex.metrics()
    ex.refresh()
    assert renders == [2] and ex.metrics() == first
    state.write_text(json.dumps({"nodes": nodes, "pods": [pod("p", "n0", gpus=1, util="90")]}))
    ex.refresh()
    assert renders == [2, 2] and 'DCGM_FI_DEV_GPU_UTIL{gpu="0"' in (ex.metrics() or "") and " 90" in (ex.metrics() or "")
    # objects with a resourceVersion are told apart by it, not by their content
    a = dx.ClusterState(nodes=[{"metadata": {"uid": "u", "resourceVersion": "1"}}])
    b = dx.ClusterState(nodes=[{"metadata": {"uid": "u", "resourceVersion": "2"}}])
    assert dx.fingerprint(a) != dx.fingerprint(b) and dx.fingerprint(a) == dx.fingerprint(dx.ClusterState(nodes=list(a.nodes)))
