"""A webhook receiver on 127.0.0.1 that keeps every Alertmanager notification it gets."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Notification = dict[str, Any]


class WebhookSink:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Notification] = []
        self.url = ""

    def add(self, notification: Notification) -> None:
        with self._lock:
            self._received.append(notification)

    def received(self) -> list[Notification]:
        with self._lock:
            return list(self._received)

    def wait_for(
        self, predicate: Callable[[list[Notification]], bool], timeout: float = 60.0
    ) -> list[Notification]:
        """All notifications so far, once ``predicate`` holds for them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            received = self.received()
            if predicate(received):
                return received
            time.sleep(0.1)
        raise AssertionError(f"no matching notification within {timeout}s: {self.received()}")


@contextlib.contextmanager
def webhook_sink() -> Iterator[WebhookSink]:
    sink = WebhookSink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            sink.add(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
