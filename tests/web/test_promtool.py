"""The example web config passes ``promtool check web-config``, and promtool agrees with
``load_web`` on which files are broken, so one file works for LLMscope and Go exporters."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from servicekit.errors import ConfigError
from servicekit.web.config import load_web
from testkit.realservers import PROMTOOL, require
from tests.web.certs import Certs
from tests.web.test_webconfig import BAD_FILES, HASH, TLS, write_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "web-config.yml"

# Files that promtool 2.42 accepts and LLMscope refuses on purpose (everything else in the
# table both refuse).
LLMSCOPE_ONLY = {
    "tls_settings_without_any_file",  # Go then silently serves plain HTTP
    "unverified_client_certs_are_refused",  # Python's ssl module cannot skip verification
    "verification_without_client_ca",  # Go would trust the system roots for client certs
    "client_ca_file_without_certificate",  # Go ignores a CA file with no certificate in it
    "old_tls_version",  # TLS 1.0 and 1.1 are obsolete
    "min_version_above_max_version",  # Go only fails at the first handshake
    "cipher_suites",  # Go names, not OpenSSL's
    "user_name_with_colon",  # such a user could never log in (RFC 7617)
}


def promtool_accepts(path: Path) -> bool:
    result = subprocess.run(
        [require(PROMTOOL), "check", "web-config", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return result.returncode == 0


def test_promtool_accepts_the_example() -> None:
    assert promtool_accepts(EXAMPLE)
    settings = load_web(str(EXAMPLE), {}, allow_dev_token=False)
    assert settings.description == "TLS, basic auth (1 user)"


@pytest.mark.parametrize(
    "text",
    [c[1] for c in BAD_FILES if c[0] not in LLMSCOPE_ONLY],
    ids=[c[0] for c in BAD_FILES if c[0] not in LLMSCOPE_ONLY],
)
def test_promtool_also_rejects_what_load_web_rejects(
    tmp_path: Path, certs: Certs, text: str
) -> None:
    path = write_config(tmp_path, certs, text)
    with pytest.raises(ConfigError):
        load_web(str(path), {}, allow_dev_token=False)
    assert not promtool_accepts(path)


def test_promtool_and_load_web_accept_the_same_full_file(tmp_path: Path, certs: Certs) -> None:
    text = (
        TLS
        + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
        + "  min_version: TLS13\n"
        + "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        + f"basic_auth_users:\n  alice: {HASH}\n"
    )
    path = write_config(tmp_path, certs, text)
    assert promtool_accepts(path)
    load_web(str(path), {}, allow_dev_token=False)


@pytest.mark.parametrize(
    "text",
    [c[1] for c in BAD_FILES if c[0] in LLMSCOPE_ONLY],
    ids=[c[0] for c in BAD_FILES if c[0] in LLMSCOPE_ONLY],
)
def test_llmscope_is_stricter_than_promtool_only_where_listed(
    tmp_path: Path, certs: Certs, text: str
) -> None:
    path = write_config(tmp_path, certs, text)
    with pytest.raises(ConfigError):
        load_web(str(path), {}, allow_dev_token=False)
    assert promtool_accepts(path)
