"""The TLS half of ``--web.config.file``: a server SSLContext from ``tls_server_config``; and
the certificate files of any TLS section (``load_chain``, ``load_ca``), which the sidecar's
client config (``servicekit/httpclient.py``, ``tls_config``) reads the same way.

Certificate, key and CA files are read at start-up so that a wrong file is a config error
with its YAML path, not a failed handshake later.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path

import yaml

from servicekit.web.tlsfiles import read_small
from servicekit.yamlconf import Reader, join_path

VERIFY_MODES = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}


def tls_context(
    reader: Reader,
    node: yaml.Node | None,
    keys: Mapping[str, yaml.Node],
    client_auth: str | None,
    base: Path,
) -> ssl.SSLContext | None:
    """The server context of ``tls_server_config``, or None when it is absent or wrong."""
    if not keys:
        return None
    path = "tls_server_config"
    versions = {}
    for key, default in (("min_version", "TLS12"), ("max_version", "TLS13")):
        versions[key] = reader.optional(
            keys, key, path, lambda n, p: reader.choice(n, p, VERSIONS, "TLS version"), default
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = VERSIONS[versions["min_version"]]
    context.maximum_version = VERSIONS[versions["max_version"]]
    if context.minimum_version > context.maximum_version:
        reader.fail(keys.get("min_version"), join_path(path, "min_version"), "above max_version")
    if not reader.optional(keys, "prefer_server_cipher_suites", path, reader.boolean, True):
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    ok = load_chain(reader, context, node, keys, base)
    ok = _load_client_ca(reader, context, keys, client_auth, base) and ok
    return context if ok else None


def _file(
    reader: Reader, keys: Mapping[str, yaml.Node], key: str, base: Path, section: str
) -> Path | None:
    """An existing, readable file named under ``key``, resolved against ``base``."""
    node, path = keys[key], join_path(section, key)
    name = reader.string(node, path)
    if name is None:
        return None
    resolved = base / name
    try:
        read_small(resolved)  # not a FIFO, not /dev/zero: OpenSSL would read it whole
    except OSError as err:
        reader.fail(node, path, f'cannot read "{resolved}": {err.strerror or type(err).__name__}')
        return None
    return resolved


def _no_password() -> bytes:
    # Without a callback OpenSSL would prompt on the terminal for an encrypted key.
    raise ValueError("encrypted")


def _has_certificate(path: Path) -> bool:
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except ssl.SSLError:
        return False
    return True


def load_chain(
    reader: Reader,
    context: ssl.SSLContext,
    node: yaml.Node | None,
    keys: Mapping[str, yaml.Node],
    base: Path,
    *,
    section: str = "tls_server_config",
) -> bool:
    """``cert_file`` and ``key_file`` of ``section`` into ``context``; False (reported) when
    either is missing (the server's section needs both) or wrong. An encrypted key is
    refused, never prompted for on the terminal."""
    missing = [k for k in ("cert_file", "key_file") if k not in keys]
    for key in missing:
        reader.fail(node, join_path(section, key), "required to serve TLS")
    if missing:
        return False
    cert = _file(reader, keys, "cert_file", base, section)
    key_file = _file(reader, keys, "key_file", base, section)
    if cert is None or key_file is None:
        return False
    try:
        context.load_cert_chain(cert, key_file, password=_no_password)
    except (ssl.SSLError, ValueError) as err:
        at, message = "key_file", f'no unencrypted PEM private key in "{key_file}"'
        if not _has_certificate(cert):
            at, message = "cert_file", f'no PEM certificate in "{cert}"'
        elif getattr(err, "reason", None) == "KEY_VALUES_MISMATCH":
            message = f'"{key_file}" is not the key of cert_file "{cert}"'
        reader.fail(keys[at], join_path(section, at), message)
        return False
    return True


def _load_client_ca(
    reader: Reader,
    context: ssl.SSLContext,
    keys: Mapping[str, yaml.Node],
    client_auth: str | None,
    base: Path,
) -> bool:
    ca_node, ca_path = keys.get("client_ca_file"), "tls_server_config.client_ca_file"
    if client_auth is None:
        return False
    if ca_node is None and client_auth != "NoClientCert":
        message = f"{client_auth} needs client_ca_file to verify client certificates"
        reader.fail(keys["client_auth_type"], "tls_server_config.client_auth_type", message)
        return False
    if ca_node is None:
        return True
    if client_auth == "NoClientCert":
        message = "set client_auth_type (RequireAndVerifyClientCert) to use client_ca_file"
        reader.fail(ca_node, ca_path, message)
        return False
    section = "tls_server_config"
    if not load_ca(reader, context, keys, "client_ca_file", base=base, section=section):
        return False
    context.verify_mode = VERIFY_MODES[client_auth]
    return True


def load_ca(
    reader: Reader,
    context: ssl.SSLContext,
    keys: Mapping[str, yaml.Node],
    key: str,
    *,
    base: Path,
    section: str,
) -> bool:
    """The CA certificates of the file under ``key`` into ``context``; False (reported)."""
    ca = _file(reader, keys, key, base, section)
    if ca is None:
        return False
    try:
        context.load_verify_locations(cafile=ca)
    except ssl.SSLError:
        reader.fail(keys[key], join_path(section, key), f'no PEM CA certificate in "{ca}"')
        return False
    return True
