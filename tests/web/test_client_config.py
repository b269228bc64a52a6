"""``--prometheus.http-config.file``: what each key sends, and every mistake named at once
with its line, no secret in any message. The real server: tests/sidecar/test_secured_backend.py."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from servicekit.errors import ConfigError
from servicekit.httpclient import (
    NO_SETTINGS,
    ClientSettings,
    CredentialsError,
    load_client_settings,
)
from servicekit.yamlconf import Reader
from spc_rules.sidecar.discovery import DiscoveryError, stored_names
from spc_rules.sidecar.query.promapi import PromClient, QueryError
from tests.web.certs import Certs


def _write(directory: Path, text: str) -> str:
    path = directory / "http.yml"
    path.write_text(text)
    return str(path)


def test_basic_auth_reads_its_password_from_a_file_next_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "password").write_text("p@ss:word\n")
    settings = load_client_settings(
        _write(tmp_path, "basic_auth: {username: llmscope, password_file: password}\n")
    )
    expected = base64.b64encode(b"llmscope:p@ss:word").decode()
    assert settings.headers == {"Authorization": f"Basic {expected}"}
    assert settings.verify is True
    assert "p@ss" not in repr(settings) and expected not in repr(settings)


def test_authorization_and_headers_such_as_mimirs_tenant(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("tok-123\n")
    (tmp_path / "tenant").write_text("team-b")
    settings = load_client_settings(
        _write(
            tmp_path,
            "authorization: {credentials_file: token}\n"
            "http_headers:\n"
            "  X-Scope-OrgID: {values: [team-a], files: [tenant]}\n",
        )
    )
    assert settings.headers == {
        "Authorization": "Bearer tok-123",
        "X-Scope-OrgID": "team-a, team-b",  # Mimir reads a comma list as a federated query
    }
    custom = load_client_settings(
        _write(tmp_path, "authorization: {type: Token, credentials: abc}\n")
    )
    assert custom.headers == {"Authorization": "Token abc"}


def test_no_file_sends_nothing_extra_and_an_empty_one_too(tmp_path: Path) -> None:
    assert load_client_settings(None) is NO_SETTINGS
    assert load_client_settings(_write(tmp_path, "")).headers == {}


def test_tls_trusts_a_private_ca_and_presents_a_client_certificate(
    tmp_path: Path, certs: Certs
) -> None:
    settings = load_client_settings(
        _write(
            tmp_path,
            f"tls_config: {{ca_file: {certs.ca}, cert_file: {certs.client.cert}, "
            f"key_file: {certs.client.key}}}\n",
        )
    )
    assert isinstance(settings.verify, ssl.SSLContext)
    assert settings.verify.verify_mode == ssl.CERT_REQUIRED and settings.verify.check_hostname
    # ca_file's CA alone, as Prometheus: not the system's trust store besides it.
    assert settings.verify.cert_store_stats()["x509_ca"] == 1
    unverified = load_client_settings(_write(tmp_path, "tls_config: {insecure_skip_verify: true}"))
    assert isinstance(unverified.verify, ssl.SSLContext)
    assert unverified.verify.verify_mode == ssl.CERT_NONE


def test_an_encrypted_client_key_is_refused_not_prompted_for(tmp_path: Path, certs: Certs) -> None:
    # The server's own rule (web/tls.py): OpenSSL would ask for a pass phrase on the
    # terminal, and a service has none.
    path = _write(
        tmp_path,
        f"tls_config: {{cert_file: {certs.server.cert}, key_file: {certs.encrypted_key}}}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_client_settings(path)
    assert str(caught.value) == (
        f'{path}:1: tls_config.key_file: no unencrypted PEM private key in "{certs.encrypted_key}"'
    )


def test_every_mistake_is_named_with_its_line_and_no_secret(tmp_path: Path) -> None:
    (tmp_path / "two-lines").write_text("hunter2\nsecond-line-secret\n")
    path = _write(
        tmp_path,
        "basic_auth: {username: u, password: hunter2, password_file: two-lines}\n"
        "authorization: {credentials: xyz-secret}\n"
        "http_headers:\n"
        "  Host: {values: [example.com]}\n"
        "  X-Tenant: {}\n"
        "  X-Other: {files: [two-lines]}\n"
        "tls_config: {ca_file: missing.pem, server_name: prom}\n"
        "proxy_url: http://proxy\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_client_settings(path)
    message = str(caught.value)
    for expected in (
        "http.yml:1: basic_auth.password_file: give password or password_file",
        "http.yml:2: authorization: give basic_auth or authorization",
        "http.yml:4: http_headers.Host: not a header the client lets a file set",
        "http.yml:5: http_headers.X-Tenant: no values (give values, secrets or files)",
        'http.yml:6: http_headers.X-Other.files[0]: "',
        'http.yml:7: tls_config.ca_file: cannot read "',
        "http.yml:7: tls_config.server_name: not supported by llmscope",
        'http.yml:8: proxy_url: unknown key "proxy_url"',
    ):
        assert expected in message, (expected, message)
    for secret in ("hunter2", "second-line-secret", "xyz-secret"):
        assert secret not in message


def test_header_names_and_values_are_what_http_can_send(tmp_path: Path) -> None:
    # Caught here, not as a failure of every request later.
    lines = [
        "http_headers:",
        "  X Tenant: {values: [a]}",
        "  Accept-Encoding: {values: [br]}",  # the sidecar's global.compression decides it
        "  X-Tenant: {values: [caf\u00e9-secret]}",
    ]
    with pytest.raises(ConfigError) as caught:
        load_client_settings(_write(tmp_path, "\n".join(lines) + "\n"))
    message = str(caught.value)
    refused = "not a header the client lets a file set"
    assert f"http.yml:2: http_headers.X Tenant: {refused}" in message
    assert f"http.yml:3: http_headers.Accept-Encoding: {refused}" in message
    values = "http.yml:4: http_headers.X-Tenant.values[0]"
    assert f"{values}: must be one non-empty line of printable ASCII" in message
    assert "no values" not in message  # the value that was given is the one named
    assert "caf" not in message


def test_a_missing_file_is_one_line_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read HTTP client config file"):
        load_client_settings(str(tmp_path / "absent.yml"))


def test_renewed_tls_files_make_a_new_context_and_broken_ones_one_line(
    tmp_path: Path, certs: Certs
) -> None:
    # As Prometheus' client: the files are read before every request, and a renewal (a
    # client certificate from cert-manager, a rotated CA) needs no restart.
    cert, key = tmp_path / "client.crt", tmp_path / "client.key"
    cert.write_bytes(certs.client.cert.read_bytes())
    key.write_bytes(certs.client.key.read_bytes())
    path = _write(
        tmp_path,
        f"tls_config: {{ca_file: {certs.ca}, cert_file: client.crt, key_file: client.key}}",
    )
    settings = load_client_settings(path)
    first = settings.verify
    assert settings.verify is first  # unchanged files: the same context, the same connections

    cert.write_bytes(certs.stranger.cert.read_bytes())  # renewed: the certificate first ...
    with pytest.raises(CredentialsError) as caught:
        _ = settings.verify
    message = str(caught.value)
    assert message == (
        f'tls_config changed: {path}:1: tls_config.key_file: "{key}" is not the key of '
        f'cert_file "{cert}"'
    )
    assert "PRIVATE KEY" not in message
    # Files that do not load are not built again (a few ms each) until they change.
    assert settings.tls is not None
    builds = 0
    build = settings.tls.build

    def counted(reader: Reader) -> ssl.SSLContext | None:
        nonlocal builds
        builds += 1
        return build(reader)

    settings.tls.build = counted
    for _ in range(3):
        with pytest.raises(CredentialsError, match="is not the key of"):
            _ = settings.verify
    assert builds == 0
    key.write_bytes(certs.stranger.key.read_bytes())  # ... then its key
    renewed = settings.verify
    assert isinstance(renewed, ssl.SSLContext) and renewed is not first
    assert settings.verify is renewed
    assert builds == 1

    key.unlink()
    with pytest.raises(CredentialsError, match=f'cannot read "{key}"'):
        _ = settings.verify


def test_the_query_client_moves_to_renewed_tls_files_and_closes_the_old_client(
    tmp_path: Path, certs: Certs
) -> None:
    # httpx fixes a client's context: PromClient makes a new client when the files change
    # and closes the old one once no request is using it (no connection pool left behind).
    ca = tmp_path / "ca.crt"
    ca.write_bytes(certs.ca.read_bytes())
    settings = load_client_settings(_write(tmp_path, "tls_config: {ca_file: ca.crt}"))
    answer = b'{"status":"success","data":{"resultType":"matrix","result":[]}}'
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=answer))
    client = PromClient("https://prometheus", timeout=5.0, transport=transport, http=settings)

    async def queries() -> list[httpx.AsyncClient | None]:
        used = []
        for rotate in (False, False, True):
            if rotate:
                ca.write_bytes(certs.ca.read_bytes() + b"\n")  # a CA bundle rewritten
            assert await client.raw_samples("up", 1_000, 1_000) == answer
            used.append(client._client)
        await client.aclose()
        return used

    first, same, renewed = asyncio.run(queries())
    assert first is same and renewed is not first
    assert first is not None and first.is_closed
    assert renewed is not None and renewed.is_closed  # by aclose


def _failed_query(url: str, http: ClientSettings) -> QueryError:
    """How one query of a fresh PromClient to ``url`` fails."""

    async def query() -> QueryError:
        client = PromClient(url, timeout=5.0, http=http)
        try:
            with pytest.raises(QueryError) as caught:
                await client.raw_samples("up", 1_000, 1_000)
        finally:
            await client.aclose()
        return caught.value

    return asyncio.run(query())


@contextlib.contextmanager
def _refusing_server(certs: Certs, connections: int) -> Iterator[str]:
    """A TLS server that wants a client certificate and refuses each of ``connections``
    without one, holding the connection until the test ends: the client then reads the
    refusal's alert, never a reset that would race it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.server.cert, certs.server.key)
    context.load_verify_locations(cafile=certs.ca)
    context.verify_mode = ssl.CERT_REQUIRED
    held: list[ssl.SSLSocket] = []

    def serve(listener: socket.socket) -> None:
        for _ in range(connections):
            conn, _ = listener.accept()
            tls = context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
            with contextlib.suppress(ssl.SSLError, OSError):
                tls.do_handshake()  # fails: no certificate; the alert goes out
            held.append(tls)

    with socket.create_server(("127.0.0.1", 0)) as listener:
        thread = threading.Thread(target=serve, args=(listener,), daemon=True)
        thread.start()
        try:
            yield f"https://127.0.0.1:{listener.getsockname()[1]}"
        finally:
            thread.join(5)
            for tls in held:
                tls.close()


def test_a_server_refusing_the_client_certificate_is_a_connect_error_not_a_crash(
    tmp_path: Path, certs: Certs
) -> None:
    # In TLS 1.3 a server that wants a client certificate refuses it after the client's side
    # of the handshake: an alert on the first read, which httpcore passes on as a bare
    # ssl.SSLError. The query counts it as `connect` with one line; discovery names it.
    http = load_client_settings(_write(tmp_path, f"tls_config: {{ca_file: {certs.ca}}}"))

    with _refusing_server(certs, connections=2) as url:
        refused = _failed_query(url, http)
        with pytest.raises(DiscoveryError, match="certificate required"):
            stored_names(url, ["up"], 5.0, http=http)
    assert refused.reason == "connect"
    assert "certificate required" in str(refused) and "\n" not in str(refused)


def test_a_tls_error_within_an_answer_is_a_network_error(tmp_path: Path, certs: Certs) -> None:
    # The answer starts (headers, some of the body), then the TLS stream breaks (a record
    # whose MAC does not verify): one line counted as `network`, as a connection lost in
    # the middle of an answer is; `connect` is for refusals before any answer.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.server.cert, certs.server.key)
    held: list[socket.socket] = []

    def serve(listener: socket.socket) -> None:
        conn, _ = listener.accept()
        tls = context.wrap_socket(conn, server_side=True)
        tls.recv(65536)  # the request
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"{" * 1000)
        raw = socket.socket(fileno=os.dup(tls.fileno()))  # under the TLS layer
        raw.sendall(b"\x17\x03\x03\x00\x20" + b"\x00" * 32)  # an application record, forged
        held.extend((tls, raw))

    http = load_client_settings(_write(tmp_path, f"tls_config: {{ca_file: {certs.ca}}}"))

    with socket.create_server(("127.0.0.1", 0)) as listener:
        thread = threading.Thread(target=serve, args=(listener,), daemon=True)
        thread.start()
        try:
            broken = _failed_query(f"https://127.0.0.1:{listener.getsockname()[1]}", http)
        finally:
            thread.join(5)
            for held_socket in held:
                held_socket.close()
    assert broken.reason == "network"
    assert "\n" not in str(broken)


def test_files_read_while_running_are_small_regular_files(tmp_path: Path) -> None:
    # A secret file replaced by a FIFO would block the request until a writer came; one
    # pointed at /dev/zero or grown huge would fill memory. Each is one line instead.
    (tmp_path / "token").write_text("tok\n")
    settings = load_client_settings(_write(tmp_path, "authorization: {credentials_file: token}\n"))
    assert settings.headers == {"Authorization": "Bearer tok"}
    (tmp_path / "token").unlink()
    os.mkfifo(tmp_path / "token")
    with pytest.raises(CredentialsError, match="not a regular file"):
        _ = settings.headers
    (tmp_path / "token").unlink()
    (tmp_path / "token").write_bytes(b"t" * (2 << 20))
    with pytest.raises(CredentialsError, match=f"larger than {1 << 20} bytes"):
        _ = settings.headers
    with pytest.raises(ConfigError, match=r'tls_config\.ca_file: cannot read "/dev/zero": not a'):
        load_client_settings(_write(tmp_path, "tls_config: {ca_file: /dev/zero}"))
