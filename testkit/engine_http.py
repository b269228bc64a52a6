"""Engine processes served over HTTP on 127.0.0.1, for a real Prometheus to scrape."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from testkit.engines import Exposition


class Traffic(Protocol):
    """What ServedEngines serves: traffic that runs, and its exposition."""

    @property
    def metrics(self) -> Exposition: ...

    def run(self, seconds: float) -> None: ...


class ServedEngines:
    """Engine processes behind HTTP on 127.0.0.1, one port each: every GET /metrics first
    lets through the traffic of the time since the last one, then answers that process's
    exposition, as a live engine would."""

    def __init__(self, processes: Sequence[Traffic]) -> None:
        self.processes = list(processes)
        self._servers: list[ThreadingHTTPServer] = []
        self._lock = threading.Lock()
        self.targets: list[str] = []

    def __enter__(self) -> ServedEngines:
        for process in self.processes:
            server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(process))
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._servers.append(server)
            self.targets.append(f"127.0.0.1:{server.server_address[1]}")
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def _handler(self, process: Traffic) -> type[BaseHTTPRequestHandler]:
        lock = self._lock
        last = [time.monotonic()]

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with lock:
                    now = time.monotonic()
                    process.run(now - last[0])
                    last[0] = now
                    body = process.metrics.text().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
