"""The probe client against real sockets: phases, TLS, proxies, keep-alive and URL failures."""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from exporter.app import Exporter
from exporter.config.types import Config
from exporter.probing.harness import ProbeResult, run_probe
from exporter.providers.openai import OpenAIProvider
from exporter.providers.protocol import ProbeContext
from exporter.transport.client import ProbeClient
from exporter.transport.proxies import proxy_for
from exporter.transport.urls import Origin
from testkit.fakeserver import FakeRequest, FakeServer, serving
from testkit.openai_fake import always, stream_script
from tests.exporter.test_openai_probe import target
from tests.web.certs import Certs, make_certs

PROVIDER = OpenAIProvider()
GOOD = always(stream_script(["a", "b"]))


async def probe(client: ProbeClient, base_url: str, **overrides: object) -> ProbeResult:
    settings: dict[str, object] = {"stall_timeout": 2.0, **overrides}
    ctx = ProbeContext(client=client, target=target(base_url, **settings), prompt="p")
    return await run_probe(PROVIDER, ctx)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


@asynccontextmanager
async def relay(
    backend: FakeServer,
    *,
    tls: ssl.SSLContext | None = None,
    tunnel: list[bytes] | None = None,
    accepted: list[asyncio.StreamWriter] | None = None,
    refuse: bytes | None = None,
) -> AsyncIterator[int]:
    """A port that relays to ``backend``: behind TLS (``tls``), or as an HTTP proxy that
    answers CONNECT and records each CONNECT head in ``tunnel`` (or, given ``refuse``,
    writes those bytes in one write and closes); ``accepted`` collects the client side of
    each connection."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if accepted is not None:
            accepted.append(writer)
        if tunnel is not None:
            tunnel.append(await reader.readuntil(b"\r\n\r\n"))
            if refuse is not None:
                writer.write(refuse)
                await writer.drain()
                writer.close()
                return
            host, port = tunnel[-1].split(b" ")[1].rsplit(b":", 1)
            up_reader, up_writer = await asyncio.open_connection(host.decode(), int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend.port)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


def server_tls(certs: Certs) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs.server.cert, certs.server.key)
    return context


def trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def test_https_has_dns_connect_tls_and_first_byte_as_separate_phases(certs: Certs) -> None:
    async def go() -> ProbeResult:
        async with serving(GOOD) as backend, relay(backend, tls=server_tls(certs)) as port:
            client = ProbeClient(trusting(certs.ca), environ={})
            return await probe(client, f"https://localhost:{port}/v1")

    result = asyncio.run(go())
    assert result.success, result.message
    assert set(result.phases) == {"dns", "connect", "tls", "first_byte"}
    assert all(seconds > 0 for seconds in result.phases.values())


def test_an_untrusted_certificate_fails_as_tls_with_verification_on(certs: Certs) -> None:
    async def go() -> ProbeResult:
        async with serving(GOOD) as backend, relay(backend, tls=server_tls(certs)) as port:
            return await probe(ProbeClient(environ={}), f"https://127.0.0.1:{port}/v1")

    result = asyncio.run(go())
    assert result.reason == "tls"
    assert "CERTIFICATE_VERIFY_FAILED" in result.message


def test_http_proxy_from_the_environment_gets_absolute_form_and_credentials() -> None:
    async def go() -> tuple[list[ProbeResult], list[FakeRequest]]:
        async with serving(GOOD) as proxy:
            env = {"HTTP_PROXY": f"http://probe:s3cret-proxy@127.0.0.1:{proxy.port}"}
            client = ProbeClient(environ=env)
            results = [await probe(client, "http://llm.internal:8000/v1")]
            bypass = ProbeClient(environ={**env, "NO_PROXY": "llm.internal, .localhost"})
            results.append(await probe(bypass, f"http://localhost:{proxy.port}/v1"))
            no_proxy_ip = ProbeClient(environ={**env, "no_proxy": "127.0.0.0/8"})
            results.append(await probe(no_proxy_ip, f"http://127.0.0.1:{proxy.port}/v1"))
            return results, list(proxy.requests)

    results, requests = asyncio.run(go())
    assert all(r.success for r in results), [r.message for r in results]
    proxied, direct, direct_ip = requests
    assert proxied.path == "http://llm.internal:8000/v1/chat/completions"
    expected = base64.b64encode(b"probe:s3cret-proxy").decode()
    assert proxied.headers["proxy-authorization"] == f"Basic {expected}"
    assert direct.path == direct_ip.path == "/v1/chat/completions"
    assert "proxy-authorization" not in direct.headers


def test_https_through_a_proxy_tunnel_keeps_tls_end_to_end(certs: Certs) -> None:
    heads: list[bytes] = []

    async def go() -> ProbeResult:
        async with (
            serving(GOOD) as backend,
            relay(backend, tls=server_tls(certs)) as tls_port,
            relay(backend, tunnel=heads) as proxy_port,
        ):
            env = {"https_proxy": f"http://127.0.0.1:{proxy_port}"}
            client = ProbeClient(trusting(certs.ca), environ=env)
            return await probe(client, f"https://localhost:{tls_port}/v1")

    result = asyncio.run(go())
    assert result.success, result.message
    assert "tls" in result.phases
    (head,) = heads
    assert head.startswith(f"CONNECT localhost:{head.split(b':')[1].split()[0].decode()}".encode())


PROXY_PAGE = b"<html><head><title>%d</title></head><body>Access denied by policy</body></html>"


@pytest.mark.parametrize(
    ("status", "reason"),
    [(407, "auth"), (403, "connect"), (502, "connect")],
)
def test_a_proxy_that_refuses_the_tunnel_with_a_page_is_a_proxy_refusal(
    certs: Certs, status: int, reason: str
) -> None:
    """Issue 25: the refusal's HTML body, in the same write as its head, read as
    "bytes after the end of the body" (protocol) instead of the proxy's answer."""
    page = PROXY_PAGE % status
    refusal = (
        b'HTTP/1.1 %d Refused\r\nProxy-Authenticate: Basic realm="corp"\r\n'
        b"Content-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (status, len(page), page)
    )
    heads: list[bytes] = []

    async def go() -> ProbeResult:
        async with (
            serving(GOOD) as backend,
            relay(backend, tls=server_tls(certs)) as tls_port,
            relay(backend, tunnel=heads, refuse=refusal) as proxy_port,
        ):
            env = {"HTTPS_PROXY": f"http://probe:s3cret-proxy@127.0.0.1:{proxy_port}"}
            client = ProbeClient(trusting(certs.ca), environ=env)
            return await probe(client, f"https://localhost:{tls_port}/v1")

    result = asyncio.run(go())
    assert result.reason == reason, result.message
    assert "proxy 127.0.0.1:" in result.message and f"HTTP {status}" in result.message
    assert "s3cret-proxy" not in result.message and len(heads) == 1
    assert "tls" not in result.phases  # no handshake was tried through a refused tunnel


@pytest.mark.parametrize("interval", [7.0, 15.0])
def test_keepalive_keeps_one_connection_across_the_targets_interval(interval: float) -> None:
    """Issue 18: at 7 s and 15 s intervals every probe reconnected (a 5 s idle expiry)."""
    now = [0.0]

    async def go() -> list[ProbeResult]:
        client = ProbeClient(environ={}, clock=lambda: now[0])
        results = []
        async with serving(GOOD) as server:
            for _ in range(4):
                results.append(await probe(client, server.url + "/v1", interval=interval))
                now[0] += interval + 1.0  # a second of schedule lateness on top
            now[0] += 2 * interval  # idle far past the interval: the connection is dropped
            results.append(await probe(client, server.url + "/v1", interval=interval))
        return results

    results = asyncio.run(go())
    assert all(r.success for r in results)
    connects = ["connect" in r.phases for r in results]
    assert connects == [True, False, False, False, True]


def test_a_kept_connection_the_server_closed_is_replaced_without_failing() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def go() -> list[ProbeResult]:
        client = ProbeClient(environ={})
        async with serving(GOOD) as backend, relay(backend, accepted=accepted) as port:
            first = await probe(client, f"http://127.0.0.1:{port}/v1")
            accepted[0].close()  # the server drops the idle connection
            await asyncio.sleep(0.05)
            return [first, await probe(client, f"http://127.0.0.1:{port}/v1")]

    first, second = asyncio.run(go())
    assert first.success and second.success, second.message
    assert "connect" in first.phases and "connect" in second.phases
    assert len(accepted) == 2


def test_a_url_that_escapes_the_config_check_gets_its_reason_and_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="llmscope")
    bad = target("ftp://files.example.com/v1", name="bad", interval=0.02)
    registry = CollectorRegistry()

    def errors() -> float:
        sample = {"target": "bad", "reason": "invalid_url"}
        return registry.get_sample_value("llmscope_probe_errors_total", sample) or 0.0

    async def go() -> None:
        exporter = Exporter(lambda: Config(targets=(bad,)), registry, environ={})
        await exporter.start()
        await _until(lambda: errors() >= 3)
        await exporter.stop()

    asyncio.run(go())
    lines = [r.getMessage() for r in caplog.records if "target bad" in r.getMessage()]
    assert lines == [
        "target bad: the request URL cannot be used: bad URL: ftp://files.example.com/v1/chat/"
        "completions has the scheme ftp://, but only http:// and https:// are probed"
    ]


async def _until(condition: Callable[[], bool], limit: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition() and loop.time() < deadline:
        await asyncio.sleep(0.01)
    assert condition()


def test_a_no_proxy_port_that_is_no_ascii_number_is_a_host_entry_not_a_crash() -> None:
    """ "\u00b2" is a digit to str.isdigit but not to int(): once an uncaught ValueError."""
    origin = Origin("http", "llm.internal", 8000)
    env = {"HTTP_PROXY": "http://127.0.0.1:3128", "NO_PROXY": "llm.internal:\u00b2, other"}
    assert proxy_for(origin, env) is not None
    assert proxy_for(origin, {**env, "NO_PROXY": "llm.internal:8000"}) is None
