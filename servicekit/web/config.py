"""``--web.config.file`` (the Prometheus exporter-toolkit format) and ``LLMSCOPE_API_KEY``.

Both CLIs call ``load_web`` once at start-up; it validates everything up front and raises
``ConfigError`` with one line per problem (``web.yml:4: tls_server_config.cert_file: ...``).
Relative file names resolve against the web config file's directory, as exporter-toolkit
does; the TLS files are read again for each new connection, and a renewed certificate is
served without a restart (``tlsfiles.py``). Toolkit keys that Python's ssl module cannot
honour are refused by name rather than silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import yaml

from servicekit.errors import ConfigError
from servicekit.web.auth import API_KEY_ENV, CredentialCheck, read_users, token_problems
from servicekit.web.server import Authenticator
from servicekit.web.tls import VERIFY_MODES, tls_context
from servicekit.web.tlsfiles import ReloadingContext, reloading
from servicekit.yamlconf import INVALID, Reader, join_path, load_document, read_file

_TOP_KEYS = frozenset({"tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"})
_HTTP_KEYS = frozenset({"http2", "headers"})
# Toolkit keys we parse but refuse, with the way out.
_UNSUPPORTED = {
    "rate_limit": "rate limiting is not supported by llmscope (use a reverse proxy)",
    "cert": "inline certificates are not supported by llmscope (use cert_file)",
    "key": "inline keys are not supported by llmscope (use key_file)",
    "client_ca": "inline CA certificates are not supported by llmscope (use client_ca_file)",
    "cipher_suites": "cipher_suites is not supported by llmscope (OpenSSL's defaults apply)",
    "curve_preferences": "curve_preferences is not supported by llmscope",
    "client_allowed_sans": "client_allowed_sans is not supported by llmscope",
}
_TLS_KEYS = frozenset(
    {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version"}
    | {"prefer_server_cipher_suites"}
    | (_UNSUPPORTED.keys() - _TOP_KEYS)
)
# Go can accept a client certificate without verifying it; Python's ssl module cannot.
_UNVERIFIED_MODES = {"RequestClientCert", "RequireAnyClientCert", "RequireClientCert"}
# exporter-toolkit's fixed list: header name -> allowed values (empty: any value).
_HEADERS: dict[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}


@dataclass(frozen=True)
class WebSettings:
    """What ``WebServer`` needs: who may connect, over what, and extra response headers."""

    auth: Authenticator | None = None
    tls: ReloadingContext | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    description: str = "plain HTTP, no authentication"
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _FileSettings:
    tls: ReloadingContext | None = None
    client_auth: str = "NoClientCert"
    users: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


def load_web(path: str | None, environ: Mapping[str, str], allow_dev_token: bool) -> WebSettings:
    """Settings from the web config file (if any) and ``LLMSCOPE_API_KEY`` (if set)."""
    problems: list[str] = []
    file = _FileSettings()
    if path:
        try:
            file = _load_file(Path(path))
        except ConfigError as err:
            problems.extend(str(err).splitlines())
    token = environ.get(API_KEY_ENV, "").strip() or None
    if token is not None:
        problems.extend(token_problems(token, allow_dev_token))
    if problems:
        raise ConfigError("\n".join(problems))
    auth = CredentialCheck(file.users, token) if (file.users or token) else None
    return WebSettings(
        auth=auth,
        tls=file.tls,
        headers=file.headers,
        description=_describe(file, token is not None),
        warnings=_warnings(file, token),
    )


def _describe(file: _FileSettings, has_token: bool) -> str:
    if file.tls is None:
        transport = "plain HTTP"
    elif file.client_auth == "NoClientCert":
        transport = "TLS"
    else:
        transport = f"TLS ({file.client_auth})"
    schemes = []
    if file.users:
        count = len(file.users)
        schemes.append(f"basic auth ({count} user{'' if count == 1 else 's'})")
    if has_token:
        schemes.append(f"bearer token from {API_KEY_ENV}")
    return f"{transport}, {' and '.join(schemes) or 'no authentication'}"


def _warnings(file: _FileSettings, token: str | None) -> tuple[str, ...]:
    if file.tls is None and (file.users or token):
        return ("credentials travel over plain HTTP; configure tls_server_config",)
    return ()


def _load_file(path: Path) -> _FileSettings:
    text = read_file(path, "web config file")

    def build(reader: Reader, root: yaml.Node) -> _FileSettings:
        # Absolute: the TLS files are read again later, whatever the working directory.
        base = path.absolute().parent
        return _FileSettings() if _is_null(root) else _settings(reader, root, base)

    return load_document(text, str(path), build, empty=_FileSettings)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _section(
    reader: Reader, keys: Mapping[str, yaml.Node], name: str, allowed: frozenset[str]
) -> dict[str, yaml.Node]:
    """A sub-mapping; absent or null (``tls_server_config:``) reads as empty, as in Go."""
    node = keys.get(name)
    if node is None or _is_null(node):
        return {}
    return reader.mapping(node, name, allowed) or {}


def _refuse_unsupported(reader: Reader, keys: Mapping[str, yaml.Node], path: str) -> None:
    for key, node in keys.items():
        if key in _UNSUPPORTED:
            reader.fail(node, join_path(path, key), _UNSUPPORTED[key])


def _settings(reader: Reader, root: yaml.Node, base: Path) -> _FileSettings:
    keys = reader.mapping(root, "", _TOP_KEYS) or {}
    _refuse_unsupported(reader, keys, "")
    tls_keys = _section(reader, keys, "tls_server_config", _TLS_KEYS)
    _refuse_unsupported(reader, tls_keys, "tls_server_config")
    http_keys = _section(reader, keys, "http_server_config", _HTTP_KEYS)
    # HTTP/2 is never served (WebServer speaks HTTP/1.1), so http2 is read and has no effect.
    reader.optional(http_keys, "http2", "http_server_config", reader.boolean, True)
    auth_node = tls_keys.get("client_auth_type")
    # None: the value was wrong (already reported), so the client CA checks are skipped.
    client_auth = (
        "NoClientCert"
        if auth_node is None
        else _client_auth(reader, auth_node, "tls_server_config.client_auth_type")
    )
    return _FileSettings(
        tls=_tls(reader, keys.get("tls_server_config"), tls_keys, client_auth, base),
        client_auth=client_auth or "NoClientCert",
        users=read_users(reader, keys.get("basic_auth_users")),
        headers=_headers(reader, http_keys.get("headers")),
    )


def _tls(
    reader: Reader,
    node: yaml.Node | None,
    keys: Mapping[str, yaml.Node],
    client_auth: str | None,
    base: Path,
) -> ReloadingContext | None:
    """The server's context, built again for new connections once its files change."""
    build = partial(tls_context, node=node, keys=keys, client_auth=client_auth, base=base)
    names = ("cert_file", "key_file", "client_ca_file")
    return reloading(reader, build, node, "tls_server_config", keys=keys, names=names, base=base)


def _client_auth(reader: Reader, node: yaml.Node, path: str) -> str | None:
    value = reader.string(node, path)
    if value in _UNVERIFIED_MODES:
        message = (
            f"{value} is not supported by llmscope: Python's ssl module verifies every "
            "client certificate it accepts (use RequireAndVerifyClientCert with client_ca_file)"
        )
        reader.fail(node, path, message)
        return None
    if value is not None and value not in VERIFY_MODES:
        known = ", ".join(sorted(VERIFY_MODES.keys() | _UNVERIFIED_MODES))
        reader.fail(node, path, f'unknown client_auth_type "{value}" (known: {known})')
        return None
    return value


def _headers(reader: Reader, node: yaml.Node | None) -> dict[str, str]:
    if node is None or _is_null(node):
        return {}
    path = "http_server_config.headers"
    keys = reader.mapping(node, path, _HEADERS) or {}
    headers: dict[str, str] = {}
    for name, value_node in keys.items():
        value = reader.scalar(value_node, join_path(path, name))
        allowed = _HEADERS[name]
        if value is INVALID or value is None or value == "":
            continue  # blank means unset, as in the toolkit
        if not isinstance(value, str) or any(c in value for c in "\r\n"):
            reader.fail(value_node, join_path(path, name), "expected a one-line string")
        elif allowed and value not in allowed:
            message = f'got "{value}", expected one of: {", ".join(allowed)}'
            reader.fail(value_node, join_path(path, name), message)
        else:
            headers[name] = value
    return headers
