"""The simulated OpenAI-style model server, on loopback."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from harness.simlab import model_server as ms


@pytest.fixture()
def server() -> Iterator[str]:
    stats = ms.Stats(backend="backend-a", model="sim-llm-a")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), ms.make_handler(stats))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def call(url: str, body: Any | None = None) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_chat_completion_names_its_backend(server: str) -> None:
    code, headers, raw = call(server + "/v1/chat/completions",
                              {"model": "sim-llm-a", "messages": [{"role": "user", "content": "say hi to me"}]})
    assert code == 200 and headers["x-backend"] == "backend-a" and headers["x-model"] == "sim-llm-a"
    body = json.loads(raw)
    assert body["object"] == "chat.completion" and body["system_fingerprint"] == "backend-a"
    assert "backend-a" in body["choices"][0]["message"]["content"]
    assert body["usage"]["prompt_tokens"] == 4


def test_text_completion_and_models(server: str) -> None:
    code, _, raw = call(server + "/v1/completions", {"model": "x", "prompt": "one two"})
    body = json.loads(raw)
    assert code == 200 and body["object"] == "text_completion" and body["model"] == "x"
    code, _, raw = call(server + "/v1/models")
    assert code == 200 and json.loads(raw)["data"][0]["id"] == "sim-llm-a"


def test_errors(server: str) -> None:
    req = urllib.request.Request(server + "/v1/chat/completions", data=b"{not json")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 400
    assert call(server + "/v1/nothing", {})[0] == 404
    assert call(server + "/nothing")[0] == 404


def test_metrics_count_requests_and_latency(server: str) -> None:
    for _ in range(3):
        call(server + "/v1/chat/completions", {"messages": [{"role": "user", "content": "a b"}]})
    call(server + "/v1/completions", "[]")  # a JSON string, not an object: 400
    assert call(server + "/healthz")[0] == 200
    _, headers, raw = call(server + "/metrics")
    text = raw.decode()
    assert "version=0.0.4" in headers["Content-Type"]
    assert re.search(r'model_server_requests_total\{backend="backend-a",model="sim-llm-a",'
                     r'endpoint="/v1/chat/completions",code="200"\} 3\n', text)
    assert 'endpoint="/v1/completions",code="400"} 1' in text
    assert re.search(r'model_server_request_duration_seconds_count\{[^}]*"/v1/chat/completions"\} 3\n', text)
    assert 'le="+Inf"} 3' in text
    assert "model_server_prompt_tokens_total" in text and "# TYPE model_server_request_duration_seconds histogram" in text
    # histogram buckets are cumulative
    buckets = [int(m) for m in re.findall(r'chat/completions",le="[^"]+"\} (\d+)', text)]
    assert buckets == sorted(buckets) and buckets[-1] == 3
