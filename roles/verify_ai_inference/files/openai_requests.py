#!/usr/bin/env python3
"""Send OpenAI-style chat completions through a gateway and count which backend answered.

Prints one JSON object: how many requests were sent, the HTTP statuses, and how many answers
each backend gave. A backend is named by a response header (the lab's model servers set
``x-backend``) or, without it, by the ``system_fingerprint``/``model`` of the JSON answer.
Standard library only, so it runs with any Python the controller has.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from typing import Any


def one(url: str, host: str, headers: dict[str, str], model: str, identity_header: str,
        timeout: float) -> tuple[int, str]:
    """(HTTP status, backend identity or '') of one request; status 0 when nothing answered."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "harness conformance probe"}],
                       "max_tokens": 8}).encode()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Host": host, "Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            who = resp.headers.get(identity_header, "")
            if not who:
                try:
                    answer: dict[str, Any] = json.load(resp)
                except ValueError:
                    answer = {}
                who = str(answer.get("system_fingerprint") or answer.get("model") or "")
            return resp.status, who
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get(identity_header, "") if err.headers else ""
    except (OSError, urllib.error.URLError):
        return 0, ""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", required=True, help="gateway base URL, e.g. http://127.0.0.1:18080")
    p.add_argument("--path", default="/v1/chat/completions")
    p.add_argument("--host", required=True, help="Host header (the HTTPRoute's hostname)")
    p.add_argument("--header", action="append", default=[], help="extra header NAME=VALUE (repeatable)")
    p.add_argument("--model", default="harness-probe")
    p.add_argument("--identity-header", default="x-backend")
    p.add_argument("--backend", action="append", default=[],
                   help="NAME=MODEL: credit answers that name MODEL (not NAME) to NAME")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    p.add_argument("--expect", action="append", default=[],
                   help="IDENTITY=WEIGHT: compare each backend's share of the answers with its weight")
    p.add_argument("--tolerance", type=float, default=8.0, help="percentage points a share may be off")
    p.add_argument("--ready-timeout", type=float, default=0.0,
                   help="first poll (with backoff) until the route answers 200, at most this many seconds")
    a = p.parse_args()

    headers = dict(h.split("=", 1) for h in a.header)
    alias = {m: n for n, m in (b.split("=", 1) for b in a.backend) if m}
    url = a.url.rstrip("/") + a.path
    waited = 0.0
    if a.ready_timeout > 0:
        start, delay = time.monotonic(), 0.2
        while one(url, a.host, headers, a.model, a.identity_header, a.timeout)[0] != 200:
            if time.monotonic() - start > a.ready_timeout:
                break
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        waited = round(time.monotonic() - start, 2)

    statuses: Counter[int] = Counter()
    backends: Counter[str] = Counter()
    start = time.monotonic()
    for _ in range(a.count):
        status, who = one(url, a.host, headers, a.model, a.identity_header, a.timeout)
        statuses[status] += 1
        if status == 200:
            backends[alias.get(who, who) or "(unnamed)"] += 1
    result: dict[str, Any] = {}
    if a.expect:
        weights = {k: float(v) for k, v in (e.rsplit("=", 1) for e in a.expect)}
        total, ok = sum(weights.values()) or 1.0, sum(backends.values()) or 1
        shares = {}
        for who in sorted(set(weights) | set(backends)):
            want, got = 100.0 * weights.get(who, 0.0) / total, 100.0 * backends.get(who, 0) / ok
            # A weighted backend must answer at least once, or a 100/0 split could pass a wide band.
            within = abs(got - want) <= a.tolerance and (backends.get(who, 0) > 0) == (want > 0)
            shares[who] = {"expected_pct": round(want, 2), "observed_pct": round(got, 2),
                           "count": backends.get(who, 0), "within_tolerance": within}
        result = {"shares": shares, "tolerance_pct": a.tolerance,
                  "within_tolerance": all(s["within_tolerance"] for s in shares.values())}
    json.dump({**result, "url": url, "host": a.host, "headers": headers, "sent": a.count,
               "ok": statuses.get(200, 0), "statuses": {str(k): v for k, v in sorted(statuses.items())},
               "backends": dict(sorted(backends.items())), "ready_wait_s": waited,
               "duration_s": round(time.monotonic() - start, 3)}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
