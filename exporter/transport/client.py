"""The probe client: one streaming HTTP/1.1 request at a time per target, timed by phase.

It is small on purpose. A probe needs one connection per target, kept between probes
(``connection: keepalive``) or opened anew (``fresh``), and exact phases: name resolution,
TCP connect, TLS handshake and the wait for the response head are separate steps here
(``getaddrinfo``, ``create_connection``, ``start_tls``), so each is timed by itself. Measured
against it (docs/benchmarks.md), httpx took about seven times its CPU per streamed chunk
and aiohttp a quarter more; httpx stays for one-off calls (docs/exporter.md).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass

from exporter.transport.connect import Clock, Phases, connect
from exporter.transport.netfail import TransportError
from exporter.transport.proxies import Proxy, proxy_for
from exporter.transport.urls import Origin, split_url
from exporter.transport.wire import Wire

USER_AGENT = "llmscope-probe"


def keepalive_idle(interval: float) -> float:
    """How long a target's idle connection is kept: its interval with a margin for
    schedule lateness, so that each probe of a keepalive target finds it still open."""
    return interval + max(5.0, interval / 2)


def default_ssl_context() -> ssl.SSLContext:
    """Certificates and host names verified against the system's trust store (which
    SSL_CERT_FILE and SSL_CERT_DIR override), as the probes have always done."""
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    pool: str  # the target's name: its connection is kept under it between probes
    timeout: float  # for DNS, connect, tunnel and TLS together
    stall: float  # the longest silence before the response head or inside the body
    fresh: bool = False  # a new connection, closed after the response
    keep_idle: float = 20.0  # drop the kept connection when idle longer than this


@dataclass(slots=True)
class _Idle:
    wire: Wire
    route: tuple[Origin, Proxy | None]
    since: float
    keep: float


class Response:
    """A response whose head has arrived; the body is read piece by piece."""

    def __init__(
        self,
        client: ProbeClient,
        request: Request,
        route: tuple[Origin, Proxy | None],
        wire: Wire,
        *,
        status: int,
        headers: dict[str, str],
    ) -> None:
        self._client, self._request, self._route = client, request, route
        self._wire: Wire | None = wire
        self._complete = False
        self.status = status
        self.headers = headers  # names in lower case; repeated fields joined by ", "

    async def read(self) -> bytes:
        """The next piece of the body; b"" at its end."""
        assert self._wire is not None
        piece = await self._wire.read()
        if not piece:
            self._complete = True
        return piece

    def close(self) -> None:
        """Keep the connection for the target's next probe if the body was read to its end
        and neither side asked to close; else close it."""
        wire, self._wire = self._wire, None
        if wire is None:
            return
        if self._complete and not self._request.fresh and wire.usable:
            self._client.keep(self._request, self._route, wire)
        else:
            wire.close()


class ProbeClient:
    """Connections kept per target, TLS context and proxy settings shared by all.

    The exporter probes a target one request at a time and keeps one connection for it;
    ``llmscope-exporter bench`` runs several at once and keeps up to ``keep_per_target``.
    """

    def __init__(
        self,
        ssl_context: ssl.SSLContext | None = None,
        *,
        environ: Mapping[str, str] = os.environ,
        clock: Clock = time.monotonic,
        keep_per_target: int = 1,
    ) -> None:
        self._ssl = ssl_context or default_ssl_context()
        self._environ = environ
        self._clock = clock  # for idle expiry only; phases use the probe's own clock
        self._keep_per_target = keep_per_target
        self._idle: dict[str, list[_Idle]] = {}  # most recently used last

    async def send(self, request: Request, phases: Phases, clock: Clock) -> Response:
        """Send ``request`` and wait for the response head; record phases as they pass.

        Raises TransportError. A kept connection that the server closed while it was idle
        is replaced once, before any byte of the answer, as browsers and urllib3 do.
        """
        try:
            origin, target = split_url(request.url)
        except ValueError as err:
            raise TransportError("url", f"{request.url.split('?')[0]} {err}") from None
        proxy = proxy_for(origin, self._environ)
        route = (origin, proxy)
        if proxy is not None and origin.scheme == "http":
            target = request.url  # absolute form: the proxy forwards it
        headers = self._headers(request, origin, proxy)
        kept = self._checkout(request, route)
        while True:
            wire = kept or await connect(route, self._ssl, request.timeout, phases, clock)
            try:
                wire.send(request.method, target, headers, request.body, keep=not request.fresh)
                sent = clock()
                head = await wire.head(request.stall)
                phases["first_byte"] = clock() - sent
            except TransportError as err:
                wire.close()
                if kept is not None and err.failure == "closed" and not wire.received:
                    kept = None
                    continue
                raise
            except BaseException:
                wire.close()
                raise
            return Response(self, request, route, wire, status=head.status, headers=head.headers)

    async def get(
        self,
        url: str,
        *,
        pool: str,
        headers: Mapping[str, str],
        timeout: float,
        keep_idle: float = 20.0,
        limit: int = 1 << 20,
    ) -> tuple[int, bytes]:
        """A small GET beside the probes (a look-up such as Ollama's tags), on the target's
        connections: its status and body. Raises TransportError."""
        request = Request("GET", url, headers, b"", pool, timeout, timeout, keep_idle=keep_idle)
        try:
            async with asyncio.timeout(timeout):
                response = await self.send(request, {}, time.monotonic)
                body = b""
                try:
                    while piece := await response.read():
                        body += piece
                        if len(body) > limit:
                            raise TransportError("protocol", f"body past {limit} bytes")
                finally:
                    response.close()
        except TimeoutError:
            raise TransportError("read_timeout", f"no answer within {timeout:g}s") from None
        return response.status, body

    def keep(self, request: Request, route: tuple[Origin, Proxy | None], wire: Wire) -> None:
        kept = self._idle.setdefault(request.pool, [])
        kept.append(_Idle(wire, route, self._clock(), request.keep_idle))
        while len(kept) > self._keep_per_target:
            kept.pop(0).wire.close()

    def drop(self, pool: str) -> None:
        """Close the kept connections of a target that a reload removed."""
        for idle in self._idle.pop(pool, []):
            idle.wire.close()

    def close(self) -> None:
        for pool in list(self._idle):
            self.drop(pool)

    def _checkout(self, request: Request, route: tuple[Origin, Proxy | None]) -> Wire | None:
        kept = self._idle.get(request.pool)
        while kept:
            idle = kept.pop()
            expired = self._clock() - idle.since > idle.keep
            if request.fresh or expired or idle.route != route or not idle.wire.usable:
                idle.wire.close()
                continue
            return idle.wire
        return None

    @staticmethod
    def _headers(request: Request, origin: Origin, proxy: Proxy | None) -> list[tuple[str, str]]:
        given = {name.lower() for name in request.headers}
        headers = [] if "host" in given else [("Host", origin.authority)]
        headers += request.headers.items()
        if "user-agent" not in given:
            headers.append(("User-Agent", USER_AGENT))
        # Compressed chunks would be held back by the compressor: ask for none.
        headers.append(("Accept-Encoding", "identity"))
        if request.body or request.method in ("POST", "PUT", "PATCH"):
            headers.append(("Content-Length", str(len(request.body))))
        if request.fresh:
            headers.append(("Connection", "close"))
        if proxy is not None and proxy.authorization and origin.scheme == "http":
            headers.append(("Proxy-Authorization", proxy.authorization))
        return headers
