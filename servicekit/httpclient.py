"""``--prometheus.http-config.file``: how the sidecar authenticates to the Prometheus API.

The file is a subset of the HTTP client configuration promtool reads (``--http.config.file``)
and Prometheus writes under each ``scrape_config``: ``basic_auth``, ``authorization``,
``http_headers`` (Mimir's ``X-Scope-OrgID``, a proxy's token) and ``tls_config``. Secrets are
given inline or, better, in files; relative file names resolve against the config file's
directory, as Prometheus does. Everything is checked when the file is read, with one line
per problem (``http.yml:3: basic_auth.password_file: cannot read ...``); secret files are
read then and again for every request, so a rotated token needs no restart, and so are the
TLS files (``web/clienttls.py``), so a renewed client certificate or CA needs none either. No
secret ever appears in an error, a log line or a repr.
"""

from __future__ import annotations

import argparse
import base64
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from servicekit.errors import LLMscopeError
from servicekit.web.clienttls import load_client_tls
from servicekit.web.tlsfiles import ReloadingContext, TLSFilesError, read_small
from servicekit.yamlconf import Reader, join_path, load_document, read_file

_TOP_KEYS = frozenset({"basic_auth", "authorization", "http_headers", "tls_config"})
_BASIC_KEYS = frozenset({"username", "password", "password_file"})
_AUTHORIZATION_KEYS = frozenset({"type", "credentials", "credentials_file"})
_HEADER_KEYS = frozenset({"values", "secrets", "files"})
# Set by the client itself: a file that set them would break every request (the sidecar's
# global.compression decides Accept-Encoding).
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}
)
_ONE_LINE = "one non-empty line of printable ASCII"
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # a header name (RFC 9110 token)


class CredentialsError(LLMscopeError):
    """A secret file of the HTTP client config could not be read for a request."""


@dataclass(frozen=True)
class _Part:
    """Text given inline, or the line of a file read again for every request, as Prometheus
    does: a rotated token (a Kubernetes service account's) is picked up without a restart."""

    text: str = ""
    file: Path | None = None

    def read(self) -> str:
        if self.file is None:
            return self.text
        try:
            text = read_small(self.file).decode("utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as err:
            raise CredentialsError(f'cannot read "{self.file}": {_reason(err)}') from None
        if not text or not _sendable(text):
            raise CredentialsError(f'"{self.file}" must hold {_ONE_LINE}')
        return text


@dataclass(frozen=True)
class _Header:
    """A header's value, put together for each request: Basic credentials of ``user`` and a
    password, ``<scheme> <credentials>``, or the parts joined with ", "."""

    parts: tuple[_Part, ...]
    user: str | None = None
    scheme: str | None = None

    def value(self) -> str:
        texts = [p.read() for p in self.parts]
        if self.user is not None:
            pair = f"{self.user}:{texts[0] if texts else ''}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
        if self.scheme is not None:
            return f"{self.scheme} {texts[0]}"
        return ", ".join(texts)  # one field: what several lines of it mean in HTTP


@dataclass(frozen=True)
class ClientSettings:
    """Headers to send with every request (credentials among them) and how to verify TLS."""

    sources: Mapping[str, _Header] = field(default_factory=dict, repr=False)
    tls: ReloadingContext | None = None  # None: the system's CAs, no client certificate
    source: str = ""  # the file they came from, for messages

    @property
    def headers(self) -> dict[str, str]:
        """The headers for a request now, secret files read again; CredentialsError."""
        return {name: header.value() for name, header in self.sources.items()}

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """httpx's ``verify`` for a request now: the same context while the TLS files are
        unchanged, a new one once they changed (web/clienttls.py); CredentialsError."""
        if self.tls is None:
            return True
        try:
            return self.tls.context()
        except TLSFilesError as err:
            raise CredentialsError(str(err)) from None

    def __repr__(self) -> str:  # names only: the values may be secrets
        return f"ClientSettings(source={self.source!r}, headers={sorted(self.sources)})"


NO_SETTINGS = ClientSettings()
FLAG_HELP = "credentials, headers and TLS for the Prometheus API (docs/security.md)"


def add_http_config_flag(parser: argparse.ArgumentParser, help_text: str = FLAG_HELP) -> None:
    """``--prometheus.http-config.file`` (``args.prometheus_http_config``), the same on every
    command that reads Prometheus."""
    parser.add_argument(
        "--prometheus.http-config.file",
        dest="prometheus_http_config",
        metavar="PATH",
        help=help_text,
    )


def load_client_settings(path: str | None) -> ClientSettings:
    """The settings of ``path``, or none (no file); ConfigError naming every problem."""
    if not path:
        return NO_SETTINGS
    file = Path(path)
    text = read_file(file, "HTTP client config file")

    def build(reader: Reader, root: yaml.Node) -> ClientSettings:
        return _settings(reader, root, file.absolute().parent, str(file))

    return load_document(text, str(file), build, empty=lambda: ClientSettings(source=str(file)))


def _settings(reader: Reader, root: yaml.Node, base: Path, source: str) -> ClientSettings:
    keys = reader.mapping(root, "", _TOP_KEYS) or {}
    headers: dict[str, _Header] = {}
    if "basic_auth" in keys and "authorization" in keys:
        reader.fail(keys["authorization"], "authorization", "give basic_auth or authorization")
    if "basic_auth" in keys:
        basic = _basic(reader, keys["basic_auth"], base)
        if basic is not None:
            headers["Authorization"] = basic
    if "authorization" in keys:
        authorization = _authorization(reader, keys["authorization"], base)
        if authorization is not None:
            headers["Authorization"] = authorization
    if "http_headers" in keys:
        for name, value in _headers(reader, keys["http_headers"], base).items():
            if name.lower() == "authorization" and "Authorization" in headers:
                reader.fail(keys["http_headers"], "http_headers", "Authorization given twice")
            headers[name] = value
    tls = keys.get("tls_config")
    return ClientSettings(
        headers, None if tls is None else load_client_tls(reader, tls, base), source
    )


def _secret(
    reader: Reader, keys: Mapping[str, yaml.Node], path: str, base: Path, names: tuple[str, str]
) -> _Part | None:
    """A secret given inline or in a file (its text without the final newline), not both;
    ``names``: the inline key and the file key."""
    inline, file_key = names
    if inline in keys and file_key in keys:
        reader.fail(keys[file_key], join_path(path, file_key), f"give {inline} or {file_key}")
        return None
    if inline in keys:
        text = _line(reader, keys[inline], join_path(path, inline))
        return None if text is None else _Part(text)
    if file_key in keys:
        return _file_text(reader, keys[file_key], join_path(path, file_key), base)
    return None


def _line(reader: Reader, node: yaml.Node, path: str) -> str | None:
    value = reader.string(node, path)
    if value is not None and not _sendable(value):
        reader.fail(node, path, f"must be {_ONE_LINE}")  # a header value's text
        return None
    return value


def _sendable(value: str) -> bool:
    return value.isascii() and value.isprintable()


def _reason(err: Exception) -> str:
    return getattr(err, "strerror", None) or type(err).__name__


def _file_text(reader: Reader, node: yaml.Node, path: str, base: Path) -> _Part | None:
    """A secret file, read once now so that a mistake stops the start, not every request."""
    name = reader.string(node, path)
    if name is None:
        return None
    part = _Part(file=base / name)
    try:
        part.read()
    except CredentialsError as err:
        reader.fail(node, path, str(err))
        return None
    return part


def _basic(reader: Reader, node: yaml.Node, base: Path) -> _Header | None:
    keys = reader.mapping(node, "basic_auth", _BASIC_KEYS)
    if keys is None:
        return None
    if "username" not in keys:
        reader.fail(node, "basic_auth.username", "missing")
        return None
    username = _line(reader, keys["username"], "basic_auth.username")
    password = _secret(reader, keys, "basic_auth", base, ("password", "password_file"))
    if username is None:
        return None
    if ":" in username:
        reader.fail(keys["username"], "basic_auth.username", "must not contain a colon")
        return None
    return _Header(() if password is None else (password,), user=username)


def _authorization(reader: Reader, node: yaml.Node, base: Path) -> _Header | None:
    keys = reader.mapping(node, "authorization", _AUTHORIZATION_KEYS)
    if keys is None:
        return None
    kind = reader.optional(keys, "type", "authorization", reader.string, "Bearer")
    if kind.lower() == "basic":
        reader.fail(keys["type"], "authorization.type", "use basic_auth for Basic")
        return None
    credentials = _secret(reader, keys, "authorization", base, ("credentials", "credentials_file"))
    if credentials is None and "credentials" not in keys and "credentials_file" not in keys:
        reader.fail(node, "authorization.credentials", "missing (or credentials_file)")
    return None if credentials is None else _Header((credentials,), scheme=kind)


def _headers(reader: Reader, node: yaml.Node, base: Path) -> dict[str, _Header]:
    names = reader.mapping(node, "http_headers", _any_key(node)) or {}
    out: dict[str, _Header] = {}
    for name, spec in names.items():
        path = join_path("http_headers", name)
        if name.lower() in _RESERVED_HEADERS or not _TOKEN.fullmatch(name):
            reader.fail(spec, path, "not a header the client lets a file set")
            continue
        keys = reader.mapping(spec, path, _HEADER_KEYS) or {}
        values: list[_Part | None] = []  # None: a value already reported
        for key in ("values", "secrets", "files"):
            items = reader.sequence(keys[key], join_path(path, key)) if key in keys else None
            for i, item in enumerate(items or []):
                where = join_path(join_path(path, key), i)
                if key == "files":
                    values.append(_file_text(reader, item, where, base))
                else:
                    text = _line(reader, item, where)
                    values.append(None if text is None else _Part(text))
        if not values:
            reader.fail(spec, path, "no values (give values, secrets or files)")
        elif None not in values:
            out[name] = _Header(tuple(v for v in values if v is not None))
    return out


def _any_key(node: yaml.Node) -> frozenset[str]:
    """Every key of a mapping node: header names are the user's."""
    if not isinstance(node, yaml.MappingNode):
        return frozenset()
    return frozenset(k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode))
