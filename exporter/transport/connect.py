"""Opening a connection for the probe client: resolve, connect, tunnel, TLS, each timed.

Each is its own step (``getaddrinfo``, ``create_connection``, a ``CONNECT`` through a proxy,
``start_tls``), so each is its own phase; together they are bounded by the target's timeout.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Callable
from typing import cast

from exporter.transport.netfail import Failure, TransportError
from exporter.transport.proxies import Proxy
from exporter.transport.urls import Origin
from exporter.transport.wire import Wire

Phases = dict[str, float]
Clock = Callable[[], float]


async def connect(
    route: tuple[Origin, Proxy | None],
    tls: ssl.SSLContext,
    timeout: float,
    phases: Phases,
    clock: Clock,
) -> Wire:
    """A new connection along ``route`` (origin, proxy), each step timed into ``phases``:
    ``dns`` (not for an IP address), ``connect`` (TCP), ``tls`` (https:// only)."""
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
                await _start_tls(loop, wire, origin, tls)
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


async def _start_tls(
    loop: asyncio.AbstractEventLoop, wire: Wire, origin: Origin, tls: ssl.SSLContext
) -> None:
    assert wire.transport is not None
    try:
        transport = await loop.start_tls(wire.transport, wire, tls, server_hostname=origin.host)
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
    """``CONNECT`` through an HTTP proxy; TLS to the origin then runs inside the tunnel.

    A refusal is judged by its status alone: its body (often an HTML page) is never read,
    and the connection is closed with it.
    """
    headers = [("Host", origin.host_port)]
    if proxy.authorization:
        headers.append(("Proxy-Authorization", proxy.authorization))
    wire.send("CONNECT", origin.host_port, headers, b"")
    head = await wire.head(timeout)
    if not 200 <= head.status < 300:
        failure: Failure = "proxy_auth" if head.status == 407 else "connect"
        raise TransportError(
            failure, f"proxy {proxy.origin.authority} refused the tunnel: HTTP {head.status}"
        )
