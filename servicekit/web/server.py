"""A small threaded HTTP server for /metrics, the landing page and lifecycle endpoints.

It runs in its own thread so that rendering /metrics never blocks the probe loop, and it is
shared by the exporter and the SPC sidecar. Authentication (``servicekit.web.auth``) wraps
every route alike.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from servicekit.web.listener import Listener
from servicekit.web.tlsfiles import ReloadingContext

log = logging.getLogger("llmscope.web")

#: Connections served at once; one more is closed as soon as it is accepted.
MAX_CONNECTIONS = 256


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]


Handler = Callable[[Request], Response]


class Authenticator(Protocol):
    def check(self, request: Request) -> Response | None:
        """None when the request may pass, else the 401 response to send."""


class Serving(Protocol):
    """Who may connect, over what, and the headers of every response (``WebSettings``)."""

    @property
    def auth(self) -> Authenticator | None: ...
    @property
    def tls(self) -> ReloadingContext | None: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class _Fixed:
    auth: Authenticator | None
    tls: ReloadingContext | None
    headers: Mapping[str, str]


def parse_listen_address(address: str) -> tuple[str, int]:
    """``host:port``, ``:port`` (all interfaces) or ``[v6]:port``."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f'bad listen address "{address}" (use host:port, e.g. :8465)')
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 - an exporter listens


def metrics_handler(registry: CollectorRegistry) -> Handler:
    def handle(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(200, content_type, encoder(registry))

    return handle


def landing_page(title: str, links: Mapping[str, str], text: str = "") -> Handler:
    items = "".join(
        f'<li><a href="{html.escape(href)}">{html.escape(label)}</a></li>'
        for href, label in links.items()
    )
    page = (
        f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
        f"<ul>{items}</ul></body></html>"
    ).encode()

    def handle(request: Request) -> Response:
        return Response(200, "text/html; charset=utf-8", page)

    return handle


def text(status: int, body: str) -> Response:
    return Response(status, "text/plain; charset=utf-8", (body + "\n").encode())


class WebServer:
    """Serves ``routes`` (keyed ``"GET /path"``) on a background thread.

    ``headers`` are added to every response (exporter-toolkit's
    ``http_server_config.headers``), 401 and 404 included. ``settings``, where given, is
    asked for ``auth``, ``tls`` and ``headers`` at every request instead (``live.LiveWeb``:
    the web config as its file is now; None, a file that does not load, answers 500).
    """

    def __init__(
        self,
        address: str,
        routes: Mapping[str, Handler],
        *,
        auth: Authenticator | None = None,
        tls: ReloadingContext | None = None,
        headers: Mapping[str, str] | None = None,
        settings: Callable[[], Serving | None] | None = None,
    ) -> None:
        host, port = parse_listen_address(address)
        self.routes = dict(routes)
        if settings is None:
            fixed = _Fixed(auth, tls, dict(headers or {}))
            settings = lambda: fixed  # noqa: E731 - one constant
        first = settings()
        self.settings = settings
        handler = _make_handler(self)
        self._server = Listener((host, port), handler)
        self._server.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._server.tls = first is not None and first.tls is not None
        self._server.settings = settings
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="llmscope-web", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def dispatch(self, request: Request) -> Response:
        """The response to ``request``, the configured headers included."""
        serving = self.settings()
        if serving is None:
            return text(500, "the web config file does not load (see the log)")
        return _with_headers(self._answer(serving, request), serving.headers)

    def refuse(self, response: Response) -> Response:
        """``response`` (to a request not dispatched) with the configured headers."""
        serving = self.settings()
        return _with_headers(response, serving.headers if serving is not None else {})

    def _answer(self, serving: Serving, request: Request) -> Response:
        if serving.auth is not None:
            denied = serving.auth.check(request)
            if denied is not None:
                return denied
        route = self.routes.get(f"{request.method} {request.path}")
        if route is None:
            allowed = [k.split(" ", 1)[0] for k in self.routes if k.endswith(f" {request.path}")]
            if allowed:
                return Response(
                    405, "text/plain", b"method not allowed\n", {"Allow": ", ".join(allowed)}
                )
            return text(404, "not found")
        try:
            return route(request)
        except Exception:
            log.exception("error serving %s %s", request.method, request.path)
            return text(500, "internal error")


def _with_headers(response: Response, headers: Mapping[str, str]) -> Response:
    if not headers:
        return response
    return Response(
        response.status,
        response.content_type,
        response.body,
        {**headers, **(response.headers or {})},
    )


_MAX_BODY = 1 << 20  # request bodies are ignored; a reload or probe needs none
_DIGITS = re.compile(r"[0-9]{1,18}")


def _make_handler(server: WebServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "llmscope"
        timeout = 30  # an idle or slow client must not hold a thread for ever

        def _serve(self, method: str, send_body: bool = True) -> None:
            path = self.path.split("?", 1)[0]
            headers = {k.lower(): v for k, v in self.headers.items()}
            raw_length = headers.get("content-length", "0").strip() or "0"
            # ASCII digits only: str.isdigit() takes "²", which int() then refuses. A body
            # that is chunked, or whose length is given twice, cannot be skipped safely
            # either (on a kept-alive connection the rest would read as the next request).
            if (
                not _DIGITS.fullmatch(raw_length)
                or int(raw_length) > _MAX_BODY
                or "transfer-encoding" in headers
                or len(self.headers.get_all("Content-Length") or ()) > 1
            ):
                self.close_connection = True  # answer, and end the connection
                response = server.refuse(text(400, "bad or oversized request body"))
            else:
                if int(raw_length):
                    self.rfile.read(int(raw_length))
                response = server.dispatch(Request(method, path, headers))
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in (response.headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if send_body:
                self.wfile.write(response.body)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_HEAD(self) -> None:
            self._serve("GET", send_body=False)

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    return _Handler
