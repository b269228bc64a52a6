"""A real ``WebServer`` with ``load_web`` settings, spoken to over real HTTP and HTTPS."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import http.client
import http.server
import logging
import socket
import ssl
import struct
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import bcrypt
import pytest
from prometheus_client import CollectorRegistry, Counter

from servicekit.cli import make_web
from servicekit.flags import web_settings
from servicekit.web import server as server_module
from servicekit.web.config import WebSettings, load_web
from servicekit.web.live import LiveWeb
from servicekit.web.server import WebServer, landing_page, metrics_handler, text
from tests.web.certs import Certs, Pair

PASSWORD = "s3cret"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
REPO = Path(__file__).resolve().parents[2]

Reply = tuple[int, dict[str, str], bytes]


@contextlib.contextmanager
def serving(settings: WebSettings) -> Iterator[int]:
    registry = CollectorRegistry()
    Counter("llmscope_test_total", "A counter to find in /metrics.", registry=registry).inc()
    server = WebServer(
        "127.0.0.1:0",
        {
            "GET /": landing_page("LLMscope", {"/metrics": "Metrics"}),
            "GET /metrics": metrics_handler(registry),
        },
        auth=settings.auth,
        tls=settings.tls,
        headers=settings.headers,
    )
    server.start()
    try:
        yield server.port
    finally:
        server.stop()


def get(
    port: int,
    path: str = "/metrics",
    headers: Mapping[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
) -> Reply:
    conn = (
        http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=tls)
        if tls is not None
        else http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    )
    try:
        conn.request("GET", path, headers=dict(headers or {}))
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def client_tls(ca: Path, cert: Pair | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        context.load_cert_chain(cert.cert, cert.key)
    return context


def web_file(directory: Path, text: str) -> str:
    path = directory / "web.yml"
    path.write_text(text)
    return str(path)


def tls_text(certs: Certs, extra: str = "") -> str:
    return (
        f"tls_server_config:\n  cert_file: {certs.server.cert}\n  key_file: {certs.server.key}\n"
        + extra
    )


def test_basic_auth_guards_every_route_alike(tmp_path: Path) -> None:
    settings = load_web(web_file(tmp_path, f"basic_auth_users:\n  alice: {HASH}\n"), {}, False)
    with serving(settings) as port:
        for path in ("/", "/metrics", "/no-such-page"):
            status, headers, body = get(port, path)
            assert (status, body) == (401, b"unauthorized\n")
            assert headers["www-authenticate"] == 'Basic realm="llmscope"'
        status, headers, body = get(port, "/metrics", basic("alice", PASSWORD))
        assert status == 200
        assert b"llmscope_test_total 1.0" in body
        assert get(port, "/", basic("alice", PASSWORD))[0] == 200
        assert get(port, "/no-such-page", basic("alice", PASSWORD))[0] == 404


def test_wrong_password_and_unknown_user_get_401(tmp_path: Path) -> None:
    settings = load_web(web_file(tmp_path, f"basic_auth_users:\n  alice: {HASH}\n"), {}, False)
    with serving(settings) as port:
        assert get(port, headers=basic("alice", "s3cre7"))[0] == 401
        assert get(port, headers=basic("bob", PASSWORD))[0] == 401
        assert get(port, headers=basic("alice", PASSWORD))[0] == 200


def test_bearer_token_from_the_environment() -> None:
    settings = load_web(None, {"LLMSCOPE_API_KEY": "Zq8-secret-token"}, False)
    with serving(settings) as port:
        status, headers, _ = get(port)
        assert status == 401
        assert headers["www-authenticate"] == 'Bearer realm="llmscope"'
        assert get(port, headers={"Authorization": "Bearer Zq8-secret-token"})[0] == 200
        assert get(port, headers={"Authorization": "Bearer Zq8-secret-tokeN"})[0] == 401
        assert get(port, headers=basic("Zq8-secret-token", ""))[0] == 401


def test_basic_users_and_token_are_each_enough(tmp_path: Path) -> None:
    path = web_file(tmp_path, f"basic_auth_users:\n  alice: {HASH}\n")
    settings = load_web(path, {"LLMSCOPE_API_KEY": "Zq8-secret-token"}, False)
    with serving(settings) as port:
        status, headers, _ = get(port, "/")
        assert status == 401
        assert headers["www-authenticate"] == 'Basic realm="llmscope", Bearer realm="llmscope"'
        assert get(port, "/", {"Authorization": "Bearer Zq8-secret-token"})[0] == 200
        assert get(port, "/", basic("alice", PASSWORD))[0] == 200


def test_dev_token_works_only_when_explicitly_allowed() -> None:
    with pytest.raises(Exception, match="refusing the development token dev-123"):
        load_web(None, {"LLMSCOPE_API_KEY": "dev-123"}, allow_dev_token=False)
    settings = load_web(None, {"LLMSCOPE_API_KEY": "dev-123"}, allow_dev_token=True)
    with serving(settings) as port:
        assert get(port, headers={"Authorization": "Bearer dev-123"})[0] == 200
        assert get(port)[0] == 401


def test_no_credentials_configured_means_open_access() -> None:
    with serving(load_web(None, {}, False)) as port:
        assert get(port)[0] == 200


def test_configured_headers_are_on_every_response(tmp_path: Path) -> None:
    text = (
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        f"    X-Content-Type-Options: nosniff\nbasic_auth_users:\n  alice: {HASH}\n"
    )
    with serving(load_web(web_file(tmp_path, text), {}, False)) as port:
        for reply in (get(port), get(port, headers=basic("alice", PASSWORD))):
            assert reply[1]["x-frame-options"] == "deny"
            assert reply[1]["x-content-type-options"] == "nosniff"


def test_tls_with_basic_auth(tmp_path: Path, certs: Certs) -> None:
    text = tls_text(certs, f"basic_auth_users:\n  alice: {HASH}\n")
    with serving(load_web(web_file(tmp_path, text), {}, False)) as port:
        tls = client_tls(certs.ca)
        assert get(port, tls=tls)[0] == 401
        status, _, body = get(port, headers=basic("alice", PASSWORD), tls=tls)
        assert status == 200
        assert b"llmscope_test_total" in body


def test_plain_http_on_the_tls_port_fails_and_the_server_keeps_serving(
    tmp_path: Path, certs: Certs
) -> None:
    with serving(load_web(web_file(tmp_path, tls_text(certs)), {}, False)) as port:
        with pytest.raises((ConnectionError, http.client.BadStatusLine)):
            get(port)
        assert get(port, tls=client_tls(certs.ca))[0] == 200


def test_silent_client_does_not_hold_up_other_handshakes(tmp_path: Path, certs: Certs) -> None:
    settings = load_web(web_file(tmp_path, tls_text(certs)), {}, False)
    with serving(settings) as port, socket.create_connection(("127.0.0.1", port)):
        # The raw connection above never sends a ClientHello; others must still get in.
        assert get(port, tls=client_tls(certs.ca))[0] == 200


def test_min_version_tls13_refuses_a_tls12_client(tmp_path: Path, certs: Certs) -> None:
    text = tls_text(certs, "  min_version: TLS13\n")
    with serving(load_web(web_file(tmp_path, text), {}, False)) as port:
        old = client_tls(certs.ca)
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises(ssl.SSLError):
            get(port, tls=old)
        assert get(port, tls=client_tls(certs.ca))[0] == 200


def served_certificate(port: int, ca: Path) -> bytes:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        client_tls(ca).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def test_a_certificate_renewed_in_place_is_served_without_a_restart(
    tmp_path: Path, certs: Certs, caplog: pytest.LogCaptureFixture
) -> None:
    # As exporter-toolkit does: the files are read again for each new connection. A renewal
    # written certificate first leaves a moment where the pair does not match: connections
    # are refused then (one warning), as exporter-toolkit fails the handshake, rather than
    # served with files that no longer hold.
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_bytes(certs.server.cert.read_bytes())
    key.write_bytes(certs.server.key.read_bytes())
    text = "tls_server_config: {cert_file: tls.crt, key_file: tls.key}\n"
    settings = load_web(web_file(tmp_path, text), {}, False)
    old = ssl.PEM_cert_to_DER_cert(certs.server.cert.read_text())
    new = ssl.PEM_cert_to_DER_cert(certs.renewed_server.cert.read_text())
    with serving(settings) as port:
        assert served_certificate(port, certs.ca) == old
        cert.write_bytes(certs.renewed_server.cert.read_bytes())
        for _ in range(2):
            with pytest.raises((ssl.SSLError, ConnectionError)):
                served_certificate(port, certs.ca)
        key.write_bytes(certs.renewed_server.key.read_bytes())
        assert served_certificate(port, certs.ca) == new
        assert get(port, tls=client_tls(certs.ca))[0] == 200
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        f"tls_server_config changed: {tmp_path / 'web.yml'}:1: tls_server_config.key_file: "
        f'"{key}" is not the key of cert_file "{cert}"; connections are refused until the '
        "files load"
    ]
    assert "PRIVATE KEY" not in caplog.text


def test_a_client_that_resets_before_the_handshake_costs_no_traceback(
    tmp_path: Path, certs: Certs, capsys: pytest.CaptureFixture[str]
) -> None:
    # Bytes sent, then a reset (SO_LINGER 0): wrapping such a connection for TLS fails
    # before any handshake. One debug line, not socketserver's traceback on stderr.
    settings = load_web(web_file(tmp_path, tls_text(certs)), {}, False)
    with serving(settings) as port:
        for _ in range(50):
            raw = socket.create_connection(("127.0.0.1", port))
            raw.sendall(b"\x16\x03\x01 not a hello")
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.close()
        assert get(port, tls=client_tls(certs.ca))[0] == 200
    assert "Traceback" not in capsys.readouterr().err


def mtls_text(certs: Certs, mode: str) -> str:
    return tls_text(certs, f"  client_auth_type: {mode}\n  client_ca_file: {certs.ca}\n")


def refused(port: int, tls: ssl.SSLContext) -> bool:
    try:
        get(port, tls=tls)
    except (ssl.SSLError, ConnectionError):
        return True
    return False


def test_required_client_cert_must_be_signed_by_the_client_ca(tmp_path: Path, certs: Certs) -> None:
    settings = load_web(
        web_file(tmp_path, mtls_text(certs, "RequireAndVerifyClientCert")), {}, False
    )
    with serving(settings) as port:
        assert refused(port, client_tls(certs.ca))
        assert refused(port, client_tls(certs.ca, certs.stranger))
        assert get(port, tls=client_tls(certs.ca, certs.client))[0] == 200


def test_optional_client_cert_is_verified_when_given(tmp_path: Path, certs: Certs) -> None:
    settings = load_web(web_file(tmp_path, mtls_text(certs, "VerifyClientCertIfGiven")), {}, False)
    with serving(settings) as port:
        assert get(port, tls=client_tls(certs.ca))[0] == 200
        assert refused(port, client_tls(certs.ca, certs.stranger))
        assert get(port, tls=client_tls(certs.ca, certs.client))[0] == 200


def test_example_config_serves_https_with_the_documented_password() -> None:
    settings = load_web(str(REPO / "examples" / "web-config.yml"), {}, False)
    with serving(settings) as port:
        tls = client_tls(REPO / "examples" / "tls" / "server.crt")
        assert get(port, tls=tls)[0] == 401
        status, headers, _ = get(port, headers=basic("prometheus", "example-password"), tls=tls)
        assert status == 200
        assert headers["x-content-type-options"] == "nosniff"


def test_a_client_that_goes_away_is_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    # A scrape that timed out closes its connection mid-response: socketserver would print a
    # traceback for the BrokenPipeError; it is the client's doing, so one debug line instead.
    from servicekit.web.listener import Listener

    server = Listener(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    try:
        for gone in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")):
            try:
                raise gone
            except ConnectionError:
                server.handle_error(None, ("127.0.0.1", 1))
        assert capsys.readouterr().err == ""
        try:
            raise ValueError("a bug")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 1))
        assert "ValueError: a bug" in capsys.readouterr().err
    finally:
        server.server_close()


@contextlib.contextmanager
def serving_live(path: str) -> Iterator[int]:
    """A server that reads the web config file as it is now, as the services do."""
    live = LiveWeb(path, lambda: load_web(path, {}, False), load_web(path, {}, False))
    server = WebServer(
        "127.0.0.1:0", {"GET /metrics": lambda r: text(200, "ok")}, settings=live.current
    )
    server.start()
    try:
        yield server.port
    finally:
        server.stop()


def test_users_and_headers_follow_the_web_config_file_without_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # As exporter-toolkit reads the file for every request: a user removed is refused from
    # the next request on, one added is let in, a header set is sent.
    caplog.set_level(logging.INFO, "llmscope.web")
    path = web_file(tmp_path, f"basic_auth_users:\n  alice: {HASH}\n")
    with serving_live(path) as port:
        assert get(port, headers=basic("alice", PASSWORD))[0] == 200
        assert get(port, headers=basic("bob", PASSWORD))[0] == 401
        web_file(
            tmp_path,
            f"basic_auth_users:\n  bob: {HASH}\n"
            "http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
        )
        assert get(port, headers=basic("alice", PASSWORD))[0] == 401
        status, headers, _ = get(port, headers=basic("bob", PASSWORD))
        assert (status, headers["x-frame-options"]) == (200, "deny")
        assert get(port)[1]["x-frame-options"] == "deny"  # on the 401 too
    assert "web config changed: now plain HTTP, basic auth (1 user)" in caplog.text


def test_a_web_config_that_stops_loading_fails_requests_until_it_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Serving on with the old users would keep letting in one who was just removed: 500,
    # as exporter-toolkit answers, and one warning with the file's own problem.
    path = web_file(tmp_path, f"basic_auth_users:\n  alice: {HASH}\n")
    with serving_live(path) as port:
        web_file(tmp_path, "basic_auth_users:\n  alice: not-a-bcrypt-hash\n")
        for _ in range(3):
            assert get(port, headers=basic("alice", PASSWORD))[0] == 500
        web_file(tmp_path, f"basic_auth_users:\n  alice: {HASH}\n")
        assert get(port, headers=basic("alice", PASSWORD))[0] == 200
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"web config changed: {path}:2: basic_auth_users.alice")
    assert warnings[0].endswith("; requests are refused until it loads")
    assert "not-a-bcrypt-hash" not in caplog.text


def test_switching_tls_on_needs_a_restart_but_its_users_apply(
    tmp_path: Path, certs: Certs, caplog: pytest.LogCaptureFixture
) -> None:
    # The port speaks plain HTTP until a restart; the users of the new file apply now, so a
    # user removed in the same edit is refused.
    path = web_file(tmp_path, f"basic_auth_users:\n  alice: {HASH}\n")
    with serving_live(path) as port:
        assert get(port, headers=basic("alice", PASSWORD))[0] == 200
        web_file(tmp_path, tls_text(certs, f"basic_auth_users:\n  bob: {HASH}\n"))
        assert get(port, headers=basic("alice", PASSWORD))[0] == 401  # plain, alice gone
        assert get(port, headers=basic("bob", PASSWORD))[0] == 200
    assert "switching TLS needs a restart" in caplog.text


def test_a_file_that_breaks_the_yaml_parser_is_refused_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    path = web_file(tmp_path, f"basic_auth_users:\n  alice: {HASH}\n")
    with serving_live(path) as port:
        web_file(tmp_path, "a: " + "[" * 5000)  # PyYAML recurses past Python's limit
        assert get(port, headers=basic("alice", PASSWORD))[0] == 500
        assert get(port, headers=basic("alice", PASSWORD))[0] == 500
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "web config changed: cannot be loaded (RecursionError); requests are refused until it loads"
    ]
    assert "Traceback" not in capsys.readouterr().err


def test_the_services_serve_through_the_live_web_config(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # What the exporter and the sidecar start (servicekit.cli.make_web) follows the file.
    path = web_file(tmp_path, f"basic_auth_users:\n  alice: {HASH}\n")
    args = argparse.Namespace(listen="127.0.0.1:0", web_config=path, allow_dev_token=False)

    async def run() -> list[int]:
        async def reload() -> str | None:
            return None

        logger = logging.getLogger("test")
        server = make_web(
            args, web_settings(args), CollectorRegistry(), title="t", blurb="", reload=reload,
            logger=logger,
        )  # fmt: skip
        assert server is not None
        server.start()
        try:
            before = get(server.port, headers=basic("alice", PASSWORD))[0]
            web_file(tmp_path, f"basic_auth_users:\n  bob: {HASH}\n")
            after = get(server.port, headers=basic("alice", PASSWORD))[0]
            return [before, after, get(server.port, headers=basic("bob", PASSWORD))[0]]
        finally:
            server.stop()

    assert asyncio.run(run()) == [200, 401, 200]


@pytest.mark.parametrize(
    "length",
    [
        "\u00b2",
        "-1",
        "1" * 30,
        "12 34",
        "2097152",
        "4\r\nTransfer-Encoding: chunked",  # a body it would not skip
        "4\r\nContent-Length: 4",  # given twice
    ],
)
def test_a_bad_content_length_is_400_and_no_traceback(
    tmp_path: Path, length: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before any authentication: "²" passed str.isdigit() and then failed int(), which
    # socketserver printed as a traceback, for every such request anyone sent.
    path = web_file(tmp_path, "http_server_config:\n  headers:\n    X-Frame-Options: deny\n")
    with (
        serving(load_web(path, {}, False)) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
    ):
        head = f"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
        raw.sendall(head.encode("latin-1"))
        answer = raw.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"X-Frame-Options: deny" in answer
    assert "Traceback" not in capsys.readouterr().err


def status_or_none(port: int) -> int | None:
    """The status of a GET, or None where the server closed the connection unanswered."""
    try:
        return get(port)[0]
    except (ConnectionError, http.client.RemoteDisconnected):
        return None


def test_connections_past_the_limit_are_closed_and_slots_come_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Clients that connect and say nothing hold a thread each until their read times out;
    # past the limit a connection is closed at once instead of given another thread.
    monkeypatch.setattr(server_module, "MAX_CONNECTIONS", 4)
    with serving(load_web(None, {}, False)) as port:
        silent = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(4)]
        assert status_or_none(port) is None  # the fifth: closed at once, not left to wait
        for conn in silent:
            conn.close()
        deadline = time.monotonic() + 10
        status = None
        while status is None and time.monotonic() < deadline:
            status = status_or_none(port)  # the silent ones' threads see their clients gone
        assert status == 200
