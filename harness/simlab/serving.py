"""How the lab's small HTTP processes listen and keep their view of the cluster fresh."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
