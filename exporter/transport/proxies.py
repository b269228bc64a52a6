"""Proxies from the environment, as curl, requests and httpx read them.

``HTTPS_PROXY`` for https:// targets, ``HTTP_PROXY`` for http:// ones, ``ALL_PROXY`` for
both (lower-case names too, which win), and ``NO_PROXY`` (host names, domain suffixes,
IP addresses, ``*``) to go direct. Only ``http://`` proxies are spoken: plain requests go
to them in absolute form, TLS goes through a ``CONNECT`` tunnel. Credentials in the proxy
URL become ``Proxy-Authorization`` and never appear in a message.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

from exporter.transport.urls import Origin, split_url

log = logging.getLogger("llmscope.probe")
_warned: set[str] = set()


@dataclass(frozen=True, slots=True)
class Proxy:
    origin: Origin
    authorization: str | None = field(default=None, repr=False)


def proxy_for(target: Origin, environ: Mapping[str, str]) -> Proxy | None:
    """The proxy a request to ``target`` goes through, or None to go direct."""
    raw = _setting(environ, f"{target.scheme}_proxy") or _setting(environ, "all_proxy")
    if not raw:
        return None
    no_proxy = _setting(environ, "no_proxy")
    if no_proxy and _bypass(target, no_proxy):
        return None
    return _parse(raw)


def _bypass(target: Origin, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` names the target: ``*``, the host or a domain above it (a
    leading dot optional), ``host:port``, an IP address or a CIDR range."""
    try:
        address = ipaddress.ip_address(target.host)
    except ValueError:
        address = None
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if entry == "*":
            return True
        if not entry:
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry.strip("[]"), strict=False):
                    return True
            except ValueError:
                pass
        host, sep, port = entry.lstrip(".").rpartition(":")
        # No port, an IPv6 literal, or a port that is no ASCII number ("\u00b2" is a digit
        # to str.isdigit but not to int): the entry is a host name only.
        if not sep or ":" in host or not (port.isascii() and port.isdigit() and len(port) < 6):
            host, port = entry.lstrip("."), ""
        if port and int(port) != target.port:
            continue
        if target.host == host.strip("[]") or target.host.endswith(f".{host}"):
            return True
    return False


def _setting(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(name) or environ.get(name.upper()) or None


def _parse(raw: str) -> Proxy | None:
    url = raw if "://" in raw else f"http://{raw}"
    parts = urlsplit(url)
    try:
        bare = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        origin, _ = split_url(bare)
    except ValueError as err:
        _warn_once(f"ignoring the proxy from the environment: its URL {err}")
        return None
    if origin.scheme != "http":
        _warn_once(
            f"ignoring the {origin.scheme}:// proxy from the environment: only http:// is spoken"
        )
        return None
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = "Basic " + base64.b64encode(pair).decode("ascii")
    return Proxy(origin, authorization)


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)
