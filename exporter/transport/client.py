"""The probe client: one streaming HTTP/1.1 request at a time per target, timed by phase.

It is small on purpose. A probe needs one connection per target, kept between probes
(``connection: keepalive``) or opened anew (``fresh``), and exact phases: name resolution,
TCP connect, TLS handshake and the wait for the response head are separate steps here
(``getaddrinfo``, ``create_connection``, ``start_tls``), so each is timed by itself. The
general-purpose clients measured against it cost two to five times the CPU per streamed
chunk (docs/benchmarks.md); httpx stays for one-off calls (docs/exporter.md).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

from exporter.transport.netfail import TransportError
from exporter.transport.proxies import Proxy, proxy_for
from exporter.transport.urls import Origin, split_url
from exporter.transport.wire import Wire

USER_AGENT = "llmscope-probe"
Phases = dict[str, float]
Clock = Callable[[], float]


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
    """Connections kept per target, TLS context and proxy settings shared by all."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext | None = None,
        *,
        environ: Mapping[str, str] = os.environ,
        clock: Clock = time.monotonic,
    ) -> None:
        self._ssl = ssl_context or default_ssl_context()
        self._environ = environ
        self._clock = clock  # for idle expiry only; phases use the probe's own clock
        self._idle: dict[str, _Idle] = {}

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
            wire = kept or await self._connect(route, request.timeout, phases, clock)
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

    def keep(self, request: Request, route: tuple[Origin, Proxy | None], wire: Wire) -> None:
        old = self._idle.pop(request.pool, None)
        if old is not None:
            old.wire.close()
        self._idle[request.pool] = _Idle(wire, route, self._clock(), request.keep_idle)

    def drop(self, pool: str) -> None:
        """Close the kept connection of a target that a reload removed."""
        idle = self._idle.pop(pool, None)
        if idle is not None:
            idle.wire.close()

    def close(self) -> None:
        for pool in list(self._idle):
            self.drop(pool)

    def _checkout(self, request: Request, route: tuple[Origin, Proxy | None]) -> Wire | None:
        idle = self._idle.pop(request.pool, None)
        if idle is None:
            return None
        expired = self._clock() - idle.since > idle.keep
        if request.fresh or expired or idle.route != route or not idle.wire.usable:
            idle.wire.close()
            return None
        return idle.wire

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

    async def _connect(
        self, route: tuple[Origin, Proxy | None], timeout: float, phases: Phases, clock: Clock
    ) -> Wire:
        origin, proxy = route
        hop = proxy.origin if proxy is not None else origin
        loop = asyncio.get_running_loop()
        wire = Wire()
        try:
            async with asyncio.timeout(timeout):
                addresses = await _resolve(loop, hop, phases, clock)
                start = clock()
                await _open(loop, wire, hop, addresses)
                phases["connect"] = clock() - start
                if proxy is not None and origin.scheme == "https":
                    await _tunnel(wire, origin, proxy, timeout)
                if origin.scheme == "https":
                    start = clock()
                    await self._start_tls(loop, wire, origin)
                    phases["tls"] = clock() - start
        except TimeoutError:
            wire.close()
            raise TransportError(
                "connect_timeout", f"no connection to {hop.authority} within {timeout:g}s"
            ) from None
        except BaseException:
            wire.close()
            raise
        return wire

    async def _start_tls(self, loop: asyncio.AbstractEventLoop, wire: Wire, origin: Origin) -> None:
        assert wire.transport is not None
        try:
            transport = await loop.start_tls(
                wire.transport, wire, self._ssl, server_hostname=origin.host
            )
        except (ssl.SSLError, ssl.CertificateError) as err:
            raise TransportError("tls", f"{origin.authority}: {err}") from None
        except ConnectionError as err:
            message = f"{origin.authority}: closed during the handshake: {err}"
            raise TransportError("tls", message) from None
        wire.transport = cast(asyncio.Transport, transport)


async def _resolve(
    loop: asyncio.AbstractEventLoop, hop: Origin, phases: Phases, clock: Clock
) -> list[tuple[int, tuple[str, int]]]:
    """Addresses of ``hop``; an IP literal needs no lookup and gets no ``dns`` phase."""
    try:
        address = ipaddress.ip_address(hop.host)
    except ValueError:
        pass
    else:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        return [(family, (hop.host, hop.port))]
    start = clock()
    try:
        infos = await loop.getaddrinfo(hop.host, hop.port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise TransportError("dns", f"{hop.host}: {err.strerror or err}") from None
    phases["dns"] = clock() - start
    return [(family, (str(addr[0]), int(addr[1]))) for family, _, _, _, addr in infos]


async def _open(
    loop: asyncio.AbstractEventLoop,
    wire: Wire,
    hop: Origin,
    addresses: list[tuple[int, tuple[str, int]]],
) -> None:
    """Connect to the first address that answers, in the resolver's order."""
    errors: list[str] = []
    for family, (host, port) in addresses:
        try:
            transport, _ = await loop.create_connection(lambda: wire, host, port, family=family)
        except OSError as err:
            errors.append(f"{host} port {port}: {err.strerror or err}")
        else:
            # uvloop may call connection_made after this returns: take the transport here.
            wire.transport = transport
            return
    raise TransportError("connect", f"{hop.authority}: {'; '.join(errors) or 'no address'}")


async def _tunnel(wire: Wire, origin: Origin, proxy: Proxy, timeout: float) -> None:
    """``CONNECT`` through an HTTP proxy; TLS to the origin then runs inside the tunnel."""
    headers = [("Host", origin.host_port)]
    if proxy.authorization:
        headers.append(("Proxy-Authorization", proxy.authorization))
    wire.send("CONNECT", origin.host_port, headers, b"")
    head = await wire.head(timeout)
    if not 200 <= head.status < 300:
        raise TransportError(
            "connect", f"proxy {proxy.origin.authority} refused the tunnel: HTTP {head.status}"
        )
