"""``load_web``: the exporter-toolkit web config file and LLMSCOPE_API_KEY, exact errors."""

from __future__ import annotations

import shutil
import ssl
from pathlib import Path

import bcrypt
import pytest

from servicekit.errors import ConfigError
from servicekit.web.auth import CredentialCheck
from servicekit.web.config import load_web
from tests.web.certs import Certs

HASH = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode()
TLS = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"

# (id, file text, expected error lines; {file} is the config file, {dir} its directory)
BAD_FILES = [
    (
        "unknown_top_level_key",
        "tls_config:\n  cert_file: server.crt\n",
        [
            '{file}:1: tls_config: unknown key "tls_config" (known: basic_auth_users, '
            "http_server_config, rate_limit, tls_server_config)"
        ],
    ),
    (
        "unknown_tls_key",
        TLS + "  certfile: x\n",
        [
            '{file}:4: tls_server_config.certfile: unknown key "certfile" (known: cert, '
            "cert_file, cipher_suites, client_allowed_sans, client_auth_type, client_ca, "
            "client_ca_file, curve_preferences, key, key_file, max_version, min_version, "
            "prefer_server_cipher_suites)"
        ],
    ),
    (
        "tls_without_key_file",
        "tls_server_config:\n  cert_file: server.crt\n",
        ["{file}:2: tls_server_config.key_file: required to serve TLS"],
    ),
    (
        "tls_settings_without_any_file",
        "tls_server_config:\n  min_version: TLS13\n",
        [
            "{file}:2: tls_server_config.cert_file: required to serve TLS",
            "{file}:2: tls_server_config.key_file: required to serve TLS",
        ],
    ),
    (
        "missing_cert_file",
        "tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n",
        [
            '{file}:2: tls_server_config.cert_file: cannot read "{dir}/nope.crt": '
            "No such file or directory"
        ],
    ),
    (
        "key_of_another_certificate",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n",
        [
            '{file}:3: tls_server_config.key_file: "{dir}/client.key" is not the key of '
            'cert_file "{dir}/server.crt"'
        ],
    ),
    (
        "cert_file_is_not_pem",
        "tls_server_config:\n  cert_file: web.yml\n  key_file: server.key\n",
        ['{file}:2: tls_server_config.cert_file: no PEM certificate in "{dir}/web.yml"'],
    ),
    (
        "key_file_is_a_certificate",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n",
        [
            "{file}:3: tls_server_config.key_file: no unencrypted PEM private key in "
            '"{dir}/server.crt"'
        ],
    ),
    (
        "encrypted_key",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: encrypted.key\n",
        [
            "{file}:3: tls_server_config.key_file: no unencrypted PEM private key in "
            '"{dir}/encrypted.key"'
        ],
    ),
    (
        "unknown_client_auth_type",
        TLS + "  client_auth_type: Always\n",
        [
            '{file}:4: tls_server_config.client_auth_type: unknown client_auth_type "Always" '
            "(known: NoClientCert, RequestClientCert, RequireAndVerifyClientCert, "
            "RequireAnyClientCert, RequireClientCert, VerifyClientCertIfGiven)"
        ],
    ),
    (
        "unverified_client_certs_are_refused",
        TLS + "  client_auth_type: RequireAnyClientCert\n  client_ca_file: ca.crt\n",
        [
            "{file}:4: tls_server_config.client_auth_type: RequireAnyClientCert is not "
            "supported by llmscope: Python's ssl module verifies every client certificate it "
            "accepts (use RequireAndVerifyClientCert with client_ca_file)"
        ],
    ),
    (
        "verification_without_client_ca",
        TLS + "  client_auth_type: RequireAndVerifyClientCert\n",
        [
            "{file}:4: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs "
            "client_ca_file to verify client certificates"
        ],
    ),
    (
        "client_ca_without_client_auth_type",
        TLS + "  client_ca_file: ca.crt\n",
        [
            "{file}:4: tls_server_config.client_ca_file: set client_auth_type "
            "(RequireAndVerifyClientCert) to use client_ca_file"
        ],
    ),
    (
        "client_ca_file_without_certificate",
        TLS + "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: server.key\n",
        ['{file}:5: tls_server_config.client_ca_file: no PEM CA certificate in "{dir}/server.key"'],
    ),
    (
        "old_tls_version",
        TLS + "  min_version: TLS11\n",
        [
            '{file}:4: tls_server_config.min_version: unknown TLS version "TLS11" '
            "(known: TLS12, TLS13)"
        ],
    ),
    (
        "min_version_above_max_version",
        TLS + "  min_version: TLS13\n  max_version: TLS12\n",
        ["{file}:4: tls_server_config.min_version: above max_version"],
    ),
    (
        "inline_certificate",
        "tls_server_config:\n  cert: '-----BEGIN CERTIFICATE-----'\n  key_file: server.key\n",
        [
            "{file}:2: tls_server_config.cert: inline certificates are not supported by "
            "llmscope (use cert_file)",
            "{file}:2: tls_server_config.cert_file: required to serve TLS",
        ],
    ),
    (
        "cipher_suites",
        TLS + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
        [
            "{file}:4: tls_server_config.cipher_suites: cipher_suites is not supported by "
            "llmscope (OpenSSL's defaults apply)"
        ],
    ),
    (
        "rate_limit",
        "rate_limit:\n  interval: 1s\n  burst: 20\n",
        ["{file}:2: rate_limit: rate limiting is not supported by llmscope (use a reverse proxy)"],
    ),
    (
        "plain_text_password",
        "basic_auth_users:\n  alice: hunter2\n",
        [
            "{file}:2: basic_auth_users.alice: not a bcrypt hash (make one with: "
            "htpasswd -nBC 10 \"\" | tr -d ':\\n')"
        ],
    ),
    (
        "users_as_a_list",
        "basic_auth_users:\n  - alice\n",
        ["{file}:2: basic_auth_users: expected a mapping of user name to bcrypt hash"],
    ),
    (
        "user_name_with_colon",
        f"basic_auth_users:\n  'a:b': {HASH}\n",
        ["{file}:2: basic_auth_users.a:b: user names must be non-empty and contain no colon"],
    ),
    (
        "user_given_twice",
        f"basic_auth_users:\n  alice: {HASH}\n  alice: {HASH}\n",
        ["{file}:3: basic_auth_users.alice: user given twice"],
    ),
    (
        "header_value_outside_enumeration",
        "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
        [
            '{file}:3: http_server_config.headers.X-Frame-Options: got "allow", expected one '
            "of: deny, sameorigin"
        ],
    ),
    (
        "header_not_in_toolkit_list",
        "http_server_config:\n  headers:\n    X-Powered-By: llmscope\n",
        [
            '{file}:3: http_server_config.headers.X-Powered-By: unknown key "X-Powered-By" '
            "(known: Content-Security-Policy, Strict-Transport-Security, X-Content-Type-Options, "
            "X-Frame-Options, X-XSS-Protection)"
        ],
    ),
    (
        "http2_not_boolean",
        "http_server_config:\n  http2: maybe\n",
        ['{file}:2: http_server_config.http2: expected true or false, got "maybe"'],
    ),
    (
        "invalid_yaml",
        "tls_server_config: [\n",
        ["{file}:2: invalid YAML: expected the node content, but found '<stream end>'"],
    ),
    (
        "every_problem_at_once_in_line_order",
        "basic_auth_users:\n  bob: plain\nrate_limit: {burst: 1}\n",
        [
            "{file}:2: basic_auth_users.bob: not a bcrypt hash (make one with: "
            "htpasswd -nBC 10 \"\" | tr -d ':\\n')",
            "{file}:3: rate_limit: rate limiting is not supported by llmscope "
            "(use a reverse proxy)",
        ],
    ),
]


def write_config(directory: Path, certs: Certs, text: str) -> Path:
    """``text`` as ``directory/web.yml`` next to copies of the test certificates."""
    directory.mkdir(parents=True, exist_ok=True)
    for source, name in [
        (certs.server.cert, "server.crt"),
        (certs.server.key, "server.key"),
        (certs.client.key, "client.key"),
        (certs.ca, "ca.crt"),
        (certs.encrypted_key, "encrypted.key"),
    ]:
        shutil.copy(source, directory / name)
    path = directory / "web.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_bad_web_config_gives_exact_lines(
    tmp_path: Path, certs: Certs, text: str, expected: list[str]
) -> None:
    path = write_config(tmp_path, certs, text)
    with pytest.raises(ConfigError) as err:
        load_web(str(path), {}, allow_dev_token=False)
    want = [line.format(file=path, dir=tmp_path) for line in expected]
    assert str(err.value).splitlines() == want


def test_unreadable_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "absent.yml"
    with pytest.raises(ConfigError) as err:
        load_web(str(path), {}, allow_dev_token=False)
    assert str(err.value) == f"{path}: cannot read web config file: No such file or directory"


def test_dev_token_is_refused_without_the_flag() -> None:
    with pytest.raises(ConfigError) as err:
        load_web(None, {"LLMSCOPE_API_KEY": "dev-123"}, allow_dev_token=False)
    assert str(err.value) == (
        "LLMSCOPE_API_KEY: refusing the development token dev-123; "
        "set a secret token, or pass --web.allow-dev-token for local development"
    )
    settings = load_web(None, {"LLMSCOPE_API_KEY": "dev-123"}, allow_dev_token=True)
    assert isinstance(settings.auth, CredentialCheck)


def test_token_with_spaces_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as err:
        load_web(None, {"LLMSCOPE_API_KEY": "open sesame"}, allow_dev_token=False)
    assert str(err.value) == "LLMSCOPE_API_KEY: must be printable ASCII without spaces"
    assert "sesame" not in str(err.value)


def test_file_and_token_problems_are_reported_together(tmp_path: Path, certs: Certs) -> None:
    path = write_config(tmp_path, certs, "rate_limit: {burst: 1}\n")
    with pytest.raises(ConfigError) as err:
        load_web(str(path), {"LLMSCOPE_API_KEY": "dev-123"}, allow_dev_token=False)
    lines = str(err.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}:1: rate_limit: ")
    assert lines[1].startswith("LLMSCOPE_API_KEY: refusing")


def test_nothing_configured_means_no_auth_and_no_tls() -> None:
    settings = load_web(None, {"LLMSCOPE_API_KEY": "  "}, allow_dev_token=False)
    assert settings.auth is None
    assert settings.tls is None
    assert settings.description == "plain HTTP, no authentication"


@pytest.mark.parametrize("text", ["", "tls_server_config:\nbasic_auth_users:\n", "{}\n"])
def test_empty_sections_mean_no_settings_as_in_exporter_toolkit(tmp_path: Path, text: str) -> None:
    path = tmp_path / "web.yml"
    path.write_text(text)
    settings = load_web(str(path), {}, allow_dev_token=False)
    assert (settings.auth, settings.tls, dict(settings.headers)) == (None, None, {})


def test_relative_paths_resolve_against_the_config_directory(
    tmp_path: Path, certs: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path / "conf", certs, TLS.replace(": server", ": ./server"))
    monkeypatch.chdir(tmp_path)
    settings = load_web(str(path.relative_to(tmp_path)), {}, allow_dev_token=False)
    assert settings.tls is not None
    assert isinstance(settings.tls.context(), ssl.SSLContext)
    # Read again later for new connections: from wherever the process is by then, and
    # built again from there when they change.
    before = settings.tls.context()
    monkeypatch.chdir(certs.ca.parent)
    assert settings.tls.files == (tmp_path / "conf/server.crt", tmp_path / "conf/server.key")
    assert settings.tls.context() is before
    (tmp_path / "conf/server.crt").write_bytes(certs.renewed_server.cert.read_bytes())
    (tmp_path / "conf/server.key").write_bytes(certs.renewed_server.key.read_bytes())
    assert settings.tls.context() is not before


def test_full_file_builds_the_described_settings(tmp_path: Path, certs: Certs) -> None:
    text = (
        TLS
        + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
        + "  min_version: TLS13\n"
        + "http_server_config:\n  http2: false\n  headers:\n"
        + "    X-Frame-Options: deny\n    Content-Security-Policy: ''\n"
        + f"basic_auth_users:\n  alice: {HASH}\n  bob: {HASH}\n"
    )
    settings = load_web(
        str(write_config(tmp_path, certs, text)), {"LLMSCOPE_API_KEY": "t0ken"}, False
    )
    assert settings.tls is not None
    assert settings.tls.context().verify_mode == ssl.CERT_REQUIRED
    assert settings.tls.context().minimum_version == ssl.TLSVersion.TLSv1_3
    assert dict(settings.headers) == {"X-Frame-Options": "deny"}  # blank means unset
    assert settings.description == (
        "TLS (RequireAndVerifyClientCert), basic auth (2 users) and bearer token from "
        "LLMSCOPE_API_KEY"
    )
    assert settings.warnings == ()


def test_credentials_over_plain_http_are_warned_about() -> None:
    settings = load_web(None, {"LLMSCOPE_API_KEY": "t0ken"}, allow_dev_token=False)
    assert settings.warnings == ("credentials travel over plain HTTP; configure tls_server_config",)
