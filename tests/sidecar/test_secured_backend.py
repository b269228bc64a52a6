"""The sidecar against a real Prometheus that wants TLS with a client certificate and basic
auth (its own ``--web.config.file``), with and without ``--prometheus.http-config.file``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import bcrypt
import httpx
import pytest

from servicekit.httpclient import NO_SETTINGS, ClientSettings, load_client_settings
from spc_rules.cli import main
from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.discovery import DiscoveryError, stored_names
from spc_rules.sidecar.service import Sidecar
from testkit.realservers import PROMETHEUS, free_port, require, wait_ready
from tests.web.certs import Certs, make_certs

PASSWORD = "s3cret-pr0metheus-password"
CHARTS = "charts: [{name: latency, metric: llmscope_request_duration_seconds, by: [target]}]"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """``main`` sets up the process's logging (a root handler that redacts, and moves a
    traceback into the message); later tests in this worker must not inherit it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


def _client_config(directory: Path, certs: Certs, password: str = PASSWORD) -> Path:
    (directory / "password").write_text(password + "\n")
    path = directory / "http.yml"
    path.write_text(
        "basic_auth: {username: llmscope, password_file: password}\n"
        "tls_config:\n"
        f"  ca_file: {certs.ca}\n"
        f"  cert_file: {certs.client.cert}\n"
        f"  key_file: {certs.client.key}\n"
    )
    return path


@contextlib.contextmanager
def _secured_prometheus(directory: Path, certs: Certs) -> Iterator[str]:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    (directory / "web.yml").write_text(
        "tls_server_config:\n"
        f"  cert_file: {certs.server.cert}\n"
        f"  key_file: {certs.server.key}\n"
        "  client_auth_type: RequireAndVerifyClientCert\n"
        f"  client_ca_file: {certs.ca}\n"
        f"basic_auth_users: {{llmscope: '{hashed}'}}\n"
    )
    (directory / "prometheus.yml").write_text("global: {scrape_interval: 15s}\n")
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    with (directory / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [
                require(PROMETHEUS),
                f"--config.file={directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--web.config.file={directory / 'web.yml'}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        settings = load_client_settings(str(_client_config(directory, certs)))
        wait_ready(f"{url}/-/ready", process, log=directory / "server.log", get=_getter(settings))
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _getter(settings: ClientSettings) -> Callable[[str, float], object]:
    """``wait_ready``'s GET with the client settings: OSError until Prometheus answers 200."""

    def get(url: str, timeout: float) -> object:
        try:
            answer = httpx.get(
                url, headers=settings.headers, verify=settings.verify, timeout=timeout
            )
        except httpx.HTTPError as err:
            raise OSError(str(err)) from None
        if answer.status_code != 200:
            raise OSError(f"HTTP {answer.status_code}")
        return answer

    return get


def _cycle(url: str, settings: ClientSettings) -> tuple[bool, dict[str, int]]:
    async def run() -> tuple[bool, dict[str, int]]:
        sidecar = Sidecar(lambda: load_text(CHARTS, "t.yml"), url, http=settings)
        try:
            ok = await sidecar.cycle()
            return ok, dict(sidecar.collector.health.query_errors)
        finally:
            await sidecar.aclose()

    return asyncio.run(run())


def test_the_sidecar_reads_a_prometheus_behind_tls_and_basic_auth(
    tmp_path: Path, certs: Certs, caplog: pytest.LogCaptureFixture
) -> None:
    with _secured_prometheus(tmp_path, certs) as url:
        settings = load_client_settings(str(tmp_path / "http.yml"))
        ok, errors = _cycle(url, settings)
        assert ok
        assert not any(errors.values())
        assert stored_names(url, ["up"], 5.0, http=settings) == frozenset()

        # Without the file the server's certificate is not trusted; a wrong password is
        # refused (401), by the cycle and by the presets' discovery alike.
        ok, errors = _cycle(url, NO_SETTINGS)
        assert (ok, errors["connect"]) == (False, 1)
        wrong = tmp_path / "wrong"
        wrong.mkdir()
        refused = load_client_settings(str(_client_config(wrong, certs, "not-the-password")))
        ok, errors = _cycle(url, refused)
        assert (ok, errors["client_error"]) == (False, 1)
        with pytest.raises(DiscoveryError, match="HTTP 401"):
            stored_names(url, ["up"], 5.0, http=refused)
    assert PASSWORD not in caplog.text
    assert "not-the-password" not in caplog.text


def test_a_rotated_secret_file_is_read_again_for_each_request(
    tmp_path: Path, certs: Certs, caplog: pytest.LogCaptureFixture
) -> None:
    # As Prometheus reads its *_file secrets: a rotated token needs no restart, and a file
    # gone for a moment fails those queries (named, the secret not), not the process.
    with _secured_prometheus(tmp_path, certs) as url:
        settings = load_client_settings(str(tmp_path / "http.yml"))
        password = tmp_path / "password"
        password.write_text("rotated-wrong\n")
        ok, errors = _cycle(url, settings)
        assert (ok, errors["client_error"]) == (False, 1)  # 401
        password.unlink()
        ok, errors = _cycle(url, settings)
        assert (ok, errors["client_error"]) == (False, 1)
        assert f'credentials: cannot read "{password}"' in caplog.text
        password.write_text(PASSWORD + "\n")
        assert _cycle(url, settings)[0]
    assert "rotated-wrong" not in caplog.text


def test_a_renewed_client_certificate_is_used_without_a_restart(
    tmp_path: Path, certs: Certs, caplog: pytest.LogCaptureFixture
) -> None:
    # One sidecar across cycles, as it runs: its certificate files are replaced (a stranger's
    # certificate, which Prometheus refuses, renewed to one its CA signed, as cert-manager
    # writes a renewal), and the next cycle shows the new one.
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_bytes(certs.stranger.cert.read_bytes())
    key.write_bytes(certs.stranger.key.read_bytes())
    with _secured_prometheus(tmp_path, certs) as url:
        (tmp_path / "renewed.yml").write_text(
            "basic_auth: {username: llmscope, password_file: password}\n"
            f"tls_config: {{ca_file: {certs.ca}, cert_file: tls.crt, key_file: tls.key}}\n"
        )
        settings = load_client_settings(str(tmp_path / "renewed.yml"))

        async def cycles() -> list[tuple[bool, dict[str, int]]]:
            sidecar = Sidecar(lambda: load_text(CHARTS, "t.yml"), url, http=settings)
            outcomes = []
            try:
                for renew in (None, certs.client.cert, certs.client.key):
                    if renew is not None:  # the certificate first, its key a cycle later
                        (cert if renew == certs.client.cert else key).write_bytes(
                            renew.read_bytes()
                        )
                    ok = await sidecar.cycle()
                    outcomes.append((ok, dict(sidecar.collector.health.query_errors)))
            finally:
                await sidecar.aclose()
            return outcomes

        refused, half, renewed = asyncio.run(cycles())
    assert not refused[0]  # Prometheus refuses the stranger's certificate
    # Between the two writes the pair does not match: that cycle's query fails, named.
    assert (half[0], half[1]["client_error"]) == (False, 1)
    assert f'"{key}" is not the key of cert_file "{cert}"' in caplog.text
    assert renewed[0]
    assert "PRIVATE KEY" not in caplog.text


def test_config_check_lists_presets_through_the_file(
    tmp_path: Path, certs: Certs, capsys: pytest.CaptureFixture[str]
) -> None:
    with _secured_prometheus(tmp_path, certs) as url:
        args = ["--config.check", "--prometheus.url", url]
        assert main([*args, "--prometheus.http-config.file", str(tmp_path / "http.yml")]) == 0
        assert "presets:" in capsys.readouterr().out
        assert main(args) == 1  # the certificate is not trusted without the file
        assert "cannot ask" in capsys.readouterr().err


def test_a_broken_file_stops_the_sidecar_at_start_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "http.yml").write_text("basic_auth: {username: u, password_file: absent}\n")
    assert (
        main(["--config.check", "--prometheus.http-config.file", str(tmp_path / "http.yml")]) == 2
    )
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "http.yml:1: basic_auth.password_file: cannot read" in line


def test_backtest_and_capture_read_through_the_file(
    tmp_path: Path, certs: Certs, capsys: pytest.CaptureFixture[str]
) -> None:
    with _secured_prometheus(tmp_path, certs) as url:
        http = ["--prometheus.http-config.file", str(tmp_path / "http.yml")]
        backtest = ["backtest", "--prometheus.url", url, "--start", "now-1h", "--end", "now"]
        assert main([*backtest, *http]) == 0  # read, replayed: nothing stored, nothing paged
        assert main(backtest) == 1
        assert "certificate verify failed" in capsys.readouterr().err
        capture = ["session", "capture", "--prometheus.url", url, "--from", "now-1h"]
        capture += ["--out", str(tmp_path / "session")]
        # Through the file Prometheus answers, with no points; without it, no answer.
        assert main([*capture, *http]) == 1
        assert "no data" in capsys.readouterr().err
        assert main(capture) == 1
        assert "certificate verify failed" in capsys.readouterr().err
