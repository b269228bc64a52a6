"""Which URLs a probe can request: one check for ``--config.check`` and for the client.

A probe speaks HTTP/1.1 over TCP, with or without TLS, so a URL needs the scheme
``http://`` or ``https://``, a host, a port in range, and nothing that cannot go on the
request line (spaces, control or non-ASCII characters). A ``base_url`` may carry a query
(Azure's ``?api-version=...``): ``append_path`` puts a provider's path before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str  # lower case, IPv6 without brackets
    port: int

    @property
    def authority(self) -> str:
        """``host[:port]`` as the Host header writes it (the default port left out)."""
        return self.host_port if DEFAULT_PORTS[self.scheme] != self.port else self._host

    @property
    def host_port(self) -> str:
        """``host:port``, as a CONNECT request names its destination."""
        return f"{self._host}:{self.port}"

    @property
    def _host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host


def split_url(url: str) -> tuple[Origin, str]:
    """The origin and the request target (path and query) of ``url``.

    Raises ValueError with a message that says what is wrong, written to follow the URL.
    """
    if url != url.strip():
        raise ValueError("has leading or trailing whitespace")
    if any(not ("!" <= c <= "~") for c in url):
        raise ValueError("contains a space, a control or a non-ASCII character")
    scheme, sep, _ = url.partition("://")
    if not sep or not scheme:
        raise ValueError("has no scheme (write http:// or https:// before the host)")
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"has the scheme {scheme}://, but only http:// and https:// are probed")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:  # a bad IPv6 literal or a port that is not a number in range
        raise ValueError(f"is malformed: {err}") from None
    if parts.username is not None or parts.password is not None:
        raise ValueError("carries credentials; put keys in an environment variable instead")
    if not parts.hostname:
        raise ValueError("has no host")
    if "#" in url:
        raise ValueError("has a fragment (#...), which is never sent to a server")
    if port == 0:
        raise ValueError("has port 0")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Origin(scheme, parts.hostname, port or DEFAULT_PORTS[scheme]), target


def append_path(base_url: str, path: str) -> str:
    """``path`` (which may hold its own query) appended to the path of ``base_url``, before
    the query of ``base_url``: ``https://h/openai/v1?api-version=x`` and ``/chat/completions``
    give ``https://h/openai/v1/chat/completions?api-version=x``. The base's parameters come
    first; one of the path's that the base also names is left out (the base_url wins)."""
    root, _, base_query = base_url.partition("?")
    path, _, own_query = path.partition("?")
    given = [p for p in base_query.split("&") if p]
    names = {p.partition("=")[0] for p in given}
    added = [p for p in own_query.split("&") if p and p.partition("=")[0] not in names]
    query = "&".join(given + added)
    return root.rstrip("/") + path + (f"?{query}" if query else "")
