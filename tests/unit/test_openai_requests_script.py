"""roles/verify_ai_inference/files/openai_requests.py: counts who answered and judges the shares."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "roles/verify_ai_inference/files/openai_requests.py"


@pytest.fixture()
def gateway() -> Iterator[str]:
    """A fake gateway on loopback: 9 of 10 answers from backend-a (by header), 1 named only in the body."""
    turn = itertools.cycle(["backend-a"] * 9 + ["sim-llm-b"])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            who = next(turn)
            body = json.dumps({"system_fingerprint": who}).encode()
            self.send_response(200)
            if who.startswith("backend-"):
                self.send_header("x-backend", who)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def run(url: str, *args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, str(SCRIPT), "--url", url, "--host", "x.test", "--count", "20", *args],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    result: dict[str, object] = json.loads(out)
    return result


def test_counts_backends_by_header_or_model_alias(gateway: str) -> None:
    got = run(gateway, "--backend=backend-a=sim-llm-a", "--backend=backend-b=sim-llm-b",
              "--expect=backend-a=90", "--expect=backend-b=10")
    assert got["ok"] == 20 and got["backends"] == {"backend-a": 18, "backend-b": 2}
    assert got["within_tolerance"] is True


def test_a_backend_that_never_answers_is_out_of_tolerance(gateway: str) -> None:
    got = run(gateway, "--backend=backend-b=sim-llm-b", "--expect=backend-a=80", "--expect=backend-b=10",
              "--expect=backend-c=10", "--tolerance=50")
    shares = got["shares"]
    assert isinstance(shares, dict) and shares["backend-c"]["within_tolerance"] is False
    assert got["within_tolerance"] is False


def test_nothing_listening_counts_as_unanswered() -> None:
    got = run("http://127.0.0.1:9", "--timeout=1")
    assert got["ok"] == 0 and got["statuses"] == {"0": 20}
