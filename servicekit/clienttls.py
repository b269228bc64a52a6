"""``tls_config`` of the HTTP client config (``servicekit/httpclient.py``): the context a
request to Prometheus verifies with, and the client certificate it shows.

The files are read when the config is loaded (a wrong one stops the start, with its YAML
line) and again before every request, as Prometheus' own client does: when one changed (a
certificate renewed by cert-manager, a CA rotated), the context is built anew from them, so a
renewal needs no restart. New files that do not load (a certificate written before its
key) fail that request with one line naming the file, and the next request tries again.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from servicekit.errors import LLMscopeError
from servicekit.web.tls import load_ca, load_chain
from servicekit.yamlconf import Reader

TLS_KEYS = frozenset({"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"})
_FILE_KEYS = ("ca_file", "cert_file", "key_file")


class TLSFilesError(LLMscopeError):
    """The TLS files changed since the last request and no longer make a context."""


@dataclass(eq=False)
class ClientTLS:
    """The context of one ``tls_config`` section, as its files are now."""

    node: yaml.Node = field(repr=False)
    base: Path
    source: str  # the config file, for messages
    files: tuple[Path, ...]
    _seen: tuple[bytes, ...] = field(repr=False)
    _context: ssl.SSLContext = field(repr=False)

    def context(self) -> ssl.SSLContext:
        """The context for a request now: the same object while the files are unchanged, a
        new one after they changed; TLSFilesError when they cannot be read or loaded."""
        seen = _contents(self.files)
        if seen != self._seen:
            reader = Reader(self.source)
            context = build_context(reader, self.node, self.base)
            if context is None:
                problem = reader.problems[0] if reader.problems else "cannot be loaded"
                raise TLSFilesError(f"tls_config changed: {problem}")
            self._context, self._seen = context, seen
        return self._context


def load_client_tls(reader: Reader, node: yaml.Node, base: Path) -> ClientTLS | None:
    """The section's context, its problems reported to ``reader`` (None then)."""
    context = build_context(reader, node, base)
    if context is None:
        return None
    keys = reader.mapping(node, "tls_config", TLS_KEYS) or {}
    names = (reader.string(keys[key], f"tls_config.{key}") for key in _FILE_KEYS if key in keys)
    files = tuple(base / name for name in names if name is not None)
    try:
        seen = _contents(files)
    except TLSFilesError as err:  # gone between loading and here
        reader.fail(node, "tls_config", str(err))
        return None
    return ClientTLS(node, base, reader.source, files, seen, context)


def build_context(reader: Reader, node: yaml.Node, base: Path) -> ssl.SSLContext | None:
    """A client context: the system's CAs or ``ca_file``'s, and a client certificate, read
    as the server's own (``web/tls.py``); None, the problems reported, where it is wrong."""
    keys = reader.mapping(node, "tls_config", TLS_KEYS)
    if keys is None:
        return None
    context = ssl.create_default_context()
    ok = True
    if "ca_file" in keys:
        ok = load_ca(reader, context, keys, "ca_file", base=base, section="tls_config")
    if ("cert_file" in keys) != ("key_file" in keys):
        reader.fail(node, "tls_config", "give cert_file and key_file together")
        ok = False
    elif "cert_file" in keys:
        ok = load_chain(reader, context, node, keys, base, section="tls_config") and ok
    if reader.optional(keys, "insecure_skip_verify", "tls_config", reader.boolean, False):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if "server_name" in keys:
        reader.fail(keys["server_name"], "tls_config.server_name", "not supported by llmscope")
    return context if ok else None


def _contents(files: tuple[Path, ...]) -> tuple[bytes, ...]:
    """The files' bytes: a few kilobytes, compared whole, so a renewal within the same
    second (or a same-sized one) is not missed as a modification time could miss it."""
    out = []
    for path in files:
        try:
            out.append(path.read_bytes())
        except OSError as err:
            reason = err.strerror or type(err).__name__
            raise TLSFilesError(f'tls_config: cannot read "{path}": {reason}') from None
    return tuple(out)
