"""``tls_config`` of the HTTP client config (``servicekit/httpclient.py``): the context a
request to Prometheus verifies with, and the client certificate it shows.

The files are read when the config is loaded (a wrong one stops the start, with its YAML
line) and again before every request, as Prometheus' own client does (``web/tlsfiles.py``):
a renewed client certificate or CA needs no restart. New files that do not load together (a
certificate written before its key) fail that request with one line naming the file, and
the next request tries again.
"""

from __future__ import annotations

import ssl
from functools import partial
from pathlib import Path

import yaml

from servicekit.web.tls import load_ca, load_chain
from servicekit.web.tlsfiles import ReloadingContext, reloading
from servicekit.yamlconf import Reader

TLS_KEYS = frozenset({"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"})


def load_client_tls(reader: Reader, node: yaml.Node, base: Path) -> ReloadingContext | None:
    """The section's context, its problems reported to ``reader`` (None then)."""
    keys = reader.mapping(node, "tls_config", TLS_KEYS) or {}
    build = partial(build_context, node=node, base=base)
    names = ("ca_file", "cert_file", "key_file")
    return reloading(reader, build, node, "tls_config", keys=keys, names=names, base=base)


def build_context(reader: Reader, node: yaml.Node, base: Path) -> ssl.SSLContext | None:
    """A client context: the system's CAs or ``ca_file``'s, and a client certificate, read
    as the server's own (``web/tls.py``); None, the problems reported, where it is wrong."""
    keys = reader.mapping(node, "tls_config", TLS_KEYS)
    if keys is None:
        return None
    ok = True
    if "ca_file" in keys:  # that CA alone, as Prometheus: not the system's as well
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ok = load_ca(reader, context, keys, "ca_file", base=base, section="tls_config")
    else:
        context = ssl.create_default_context()
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
