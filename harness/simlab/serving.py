"""How the lab's small HTTP processes listen and keep their view of the cluster fresh."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
R = TypeVar("R")
V = TypeVar("V")


def split_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT``, meaning loopback) as a bind address."""
    host, _, port = listen.rpartition(":")
    return host or "127.0.0.1", int(port)


def serve(
    listen: str,
    handler: type[BaseHTTPRequestHandler],
    *,
    refresh: Callable[[], None] | None = None,
    interval: float = 5.0,
) -> int:
    """Serve until interrupted; call ``refresh`` every ``interval`` seconds in the background."""
    stop = threading.Event()
    if refresh is not None:

        def loop() -> None:
            while not stop.wait(interval):
                refresh()

        threading.Thread(target=loop, name="refresh", daemon=True).start()
    server = ThreadingHTTPServer(split_listen(listen), handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
    return 0


class LastGood(Generic[R, V]):
    """A value rebuilt from the cluster now and then; readers always get the last good one.

    ``fetch`` reads the cluster (it may fail: the previous value is kept and ``last_error`` says
    why); ``build`` turns what was read, and the previous value, into the new one.
    """

    def __init__(
        self,
        fetch: Callable[[], R],
        build: Callable[[R, V | None], V],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._build = build
        self.clock = clock
        self._lock = threading.Lock()
        self._value: V | None = None
        self._last_ok: float | None = None
        self.last_error: str | None = None

    def refresh(self) -> None:
        try:
            raw = self._fetch()
        except Exception as exc:  # keep serving the last good value; healthy() reports staleness
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("refresh failed: %s", self.last_error)
            return
        value = self._build(raw, self.value())
        with self._lock:
            self._value, self._last_ok, self.last_error = value, self.clock(), None

    def value(self) -> V | None:
        with self._lock:
            return self._value

    def healthy(self, max_age: float) -> bool:
        with self._lock:
            return self._last_ok is not None and self.clock() - self._last_ok <= max_age


def send(handler: BaseHTTPRequestHandler, code: int, body: str, ctype: str = "text/plain; charset=utf-8") -> None:
    """Write a complete response with its length."""
    data = body.encode()
    handler.send_response(code)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
