"""A tiny OpenAI-style model server: a real HTTP backend for the lab's Gateway API checks.

    python -m harness.simlab.model_server --listen 10.250.0.2:8001 --backend backend-a --model sim-llm-a

It answers `POST /v1/chat/completions`, `POST /v1/completions`, `GET /v1/models`, `/healthz`
and `/metrics` (Prometheus text: request counters, a latency histogram, token counters).
Every answer names the backend that served it (`x-backend` header, `system_fingerprint`,
and the text itself), so a test can count where a gateway sent each request. No model runs:
the completion text is canned.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Sequence

from harness.simlab.serving import serve

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
MAX_BODY = 1 << 20


@dataclass
class Stats:
    """Request counters and a latency histogram per (endpoint, status code)."""

    backend: str
    model: str
    requests: dict[tuple[str, int], int] = field(default_factory=dict)
    buckets: dict[str, list[int]] = field(default_factory=dict)
    latency_sum: dict[str, float] = field(default_factory=dict)
    latency_count: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, endpoint: str, code: int, seconds: float, prompt: int = 0, completion: int = 0) -> None:
        with self.lock:
            self.requests[(endpoint, code)] = self.requests.get((endpoint, code), 0) + 1
            counts = self.buckets.setdefault(endpoint, [0] * len(BUCKETS))
            for i, le in enumerate(BUCKETS):
                if seconds <= le:
                    counts[i] += 1
            self.latency_sum[endpoint] = self.latency_sum.get(endpoint, 0.0) + seconds
            self.latency_count[endpoint] = self.latency_count.get(endpoint, 0) + 1
            self.prompt_tokens += prompt
            self.completion_tokens += completion

    def render(self) -> str:
        base = f'backend="{self.backend}",model="{self.model}"'
        out = [
            "# HELP model_server_requests_total Requests served, by endpoint and HTTP status code.",
            "# TYPE model_server_requests_total counter",
        ]
        with self.lock:
            for (ep, code), n in sorted(self.requests.items()):
                out.append(f'model_server_requests_total{{{base},endpoint="{ep}",code="{code}"}} {n}')
            out += [
                "# HELP model_server_request_duration_seconds Time to answer a request.",
                "# TYPE model_server_request_duration_seconds histogram",
            ]
            for ep, counts in sorted(self.buckets.items()):
                lbl = f'{base},endpoint="{ep}"'
                for le, n in zip(BUCKETS, counts):
                    out.append(f'model_server_request_duration_seconds_bucket{{{lbl},le="{le}"}} {n}')
                out.append(f'model_server_request_duration_seconds_bucket{{{lbl},le="+Inf"}} {self.latency_count[ep]}')
                out.append(f"model_server_request_duration_seconds_sum{{{lbl}}} {self.latency_sum[ep]:.6f}")
                out.append(f"model_server_request_duration_seconds_count{{{lbl}}} {self.latency_count[ep]}")
            out += [
                "# HELP model_server_prompt_tokens_total Prompt tokens received (words, in this simulation).",
                "# TYPE model_server_prompt_tokens_total counter",
                f"model_server_prompt_tokens_total{{{base}}} {self.prompt_tokens}",
                "# HELP model_server_generation_tokens_total Tokens generated (words, in this simulation).",
                "# TYPE model_server_generation_tokens_total counter",
                f"model_server_generation_tokens_total{{{base}}} {self.completion_tokens}",
                "# HELP model_server_requests_running Requests being answered now.",
                "# TYPE model_server_requests_running gauge",
                f"model_server_requests_running{{{base}}} {self.in_flight}",
            ]
        return "\n".join(out) + "\n"


def _words(value: Any) -> int:
    """A crude token count: words in every string of the prompt or messages."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_words(v) for v in value)
    if isinstance(value, dict):
        return _words(value.get("content")) + _words(value.get("text"))
    return 0


def completion(kind: str, request: dict[str, Any], backend: str, model: str) -> tuple[dict[str, Any], int, int]:
    """The OpenAI-shaped answer plus (prompt, completion) token counts."""
    text = f"Simulated answer from {backend} ({model})."
    prompt = _words(request.get("messages") if kind == "chat" else request.get("prompt"))
    produced = len(text.split())
    usage = {"prompt_tokens": prompt, "completion_tokens": produced, "total_tokens": prompt + produced}
    common = {
        "id": f"{'chatcmpl' if kind == 'chat' else 'cmpl'}-{uuid.uuid4().hex[:24]}",
        "created": int(time.time()),
        # Echo what the client asked for, as an OpenAI-compatible router expects; the
        # served model and backend are in system_fingerprint and the headers.
        "model": str(request.get("model") or model),
        "system_fingerprint": backend,
        "usage": usage,
    }
    if kind == "chat":
        choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        return {"object": "chat.completion", **common, "choices": [choice]}, prompt, produced
    return {"object": "text_completion", **common,
            "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}]}, prompt, produced


def make_handler(stats: Stats, latency: float = 0.0) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the gateway reuses connections

        def _send(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-backend", stats.backend)
            self.send_header("x-model", stats.model)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, code: int, obj: Any) -> None:
            self._send(code, json.dumps(obj).encode(), "application/json")

        def _error(self, code: int, message: str) -> None:
            self._json(code, {"error": {"message": message, "type": "invalid_request_error", "code": code}})

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?", 1)[0]
            start = time.monotonic()
            if path == "/metrics":
                self._send(200, stats.render().encode(), "text/plain; version=0.0.4; charset=utf-8")
                return
            if path in ("/healthz", "/health"):
                self._send(200, b"ok\n", "text/plain")  # probes are not counted: they would swamp the counters
                return
            if path == "/v1/models":
                self._json(200, {"object": "list", "data": [
                    {"id": stats.model, "object": "model", "created": 0, "owned_by": stats.backend}]})
                stats.observe(path, 200, time.monotonic() - start)
            else:
                self._error(404, f"no route {path}")
                stats.observe("other", 404, time.monotonic() - start)

        def do_POST(self) -> None:  # noqa: N802
            path = self.path.split("?", 1)[0]
            start = time.monotonic()
            kind = {"/v1/chat/completions": "chat", "/v1/completions": "text"}.get(path)
            with stats.lock:
                stats.in_flight += 1
            code, prompt, produced = 200, 0, 0
            try:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(min(length, MAX_BODY)) if length else b""
                if kind is None:
                    code = 404
                    self._error(404, f"no route {path}")
                    return
                try:
                    request = json.loads(raw or b"{}")
                    if not isinstance(request, dict):
                        raise ValueError("body is not a JSON object")
                except ValueError as exc:
                    code = 400
                    self._error(400, f"bad JSON: {exc}")
                    return
                if latency:
                    time.sleep(latency)
                body, prompt, produced = completion(kind, request, stats.backend, stats.model)
                self._json(200, body)
            finally:
                with stats.lock:
                    stats.in_flight -= 1
                stats.observe(path if kind else "other", code, time.monotonic() - start, prompt, produced)

        def log_message(self, format: str, *args: Any) -> None:  # the gateway test sends hundreds
            pass

    return Handler


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="OpenAI-style simulated model server")
    ap.add_argument("--listen", default="127.0.0.1:8001")
    ap.add_argument("--backend", default="backend-a", help="name reported in x-backend and system_fingerprint")
    ap.add_argument("--model", default="sim-llm", help="model id served")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="added to each completion")
    args = ap.parse_args(argv)
    stats = Stats(backend=args.backend, model=args.model)
    print(f"model server {args.backend} ({args.model}) on http://{args.listen}", flush=True)
    return serve(args.listen, make_handler(stats, args.latency_ms / 1000))


if __name__ == "__main__":
    raise SystemExit(main())
