"""Small helpers shared by the metrics and gateway lab tests (HTTP on loopback, polling)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, TypeVar

PROMETHEUS = "http://127.0.0.1:19090"
GATEWAY = "http://127.0.0.1:18080"
BACKENDS_NS = "harness-sim-backends"

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60, interval: float = 1) -> T:
    """Poll until probe returns something truthy; fail with what was awaited and the last error."""
    deadline = time.monotonic() + timeout
    last: str = "no answer"
    while True:
        try:
            got = probe()
            if got:
                return got
            last = f"got {got!r}"
        except Exception as exc:  # the condition is what matters; keep the last error for the message
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} ({last})")
        time.sleep(interval)


def prom_query(query: str) -> list[dict[str, Any]]:
    url = f"{PROMETHEUS}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def gateway_request(host: str, path: str = "/v1/chat/completions", headers: dict[str, str] | None = None,
                    body: dict[str, Any] | None = None) -> tuple[int, dict[str, str], dict[str, Any]]:
    payload = json.dumps(body or {"model": "sim-llm", "messages": [{"role": "user", "content": "hello"}]}).encode()
    req = urllib.request.Request(GATEWAY + path, data=payload, method="POST",
                                 headers={"Host": host, "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, {}
