"""Mapping HTTP statuses and transport failures onto the fixed reason set."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from typing import Literal

from exporter.errors import ProbeError
from servicekit.errors import LLMscopeError
from servicekit.redact import redact

# What went wrong below HTTP, as the probe client (exporter.transport.client) tells it.
Failure = Literal[
    "url",  # the URL cannot be requested (scheme, host, port)
    "request",  # the request cannot be sent as built (a header value with a line break)
    "dns",  # name resolution failed
    "connect",  # TCP connect refused or unreachable, or a proxy refused the tunnel
    "proxy_auth",  # the proxy refused the tunnel with 407: its credentials are missing or wrong
    "connect_timeout",  # DNS, TCP, proxy tunnel and TLS did not finish within the timeout
    "tls",  # handshake or certificate failure
    "read_timeout",  # silence longer than stall_timeout, before or inside the body
    "closed",  # the server closed or reset the connection
    "protocol",  # bytes that are not HTTP/1.1
]


class TransportError(LLMscopeError):
    """A failure below HTTP; ``failure`` says which, the message is safe to log.

    A leaf of servicekit.errors' tree; ``classify_transport_error`` turns it into the
    ProbeError (and reason) a probe fails with, so it never leaves the probe client's callers.
    """

    def __init__(self, failure: Failure, message: str) -> None:
        super().__init__(message)
        self.failure: Failure = failure


def status_reason(status: int) -> Literal["auth", "rate_limited", "client_error", "server_error"]:
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limited"
    if 400 <= status < 500:
        return "client_error"
    return "server_error"


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """``retry-after-ms`` (OpenAI), else ``Retry-After`` as seconds or an HTTP date."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        seconds = finite_seconds(raw_ms)
        if seconds is not None:
            return seconds / 1000.0
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = finite_seconds(raw)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def finite_seconds(raw: str) -> float | None:
    """A non-negative finite number from a header or body field, else None (inf, nan, junk)."""
    try:
        value = float(raw)
    except ValueError:
        return None
    return max(value, 0.0) if math.isfinite(value) else None


def classify_transport_error(
    err: TransportError,
    *,
    after_headers: bool,
    body_started: bool,
    secrets: tuple[str, ...] = (),
) -> ProbeError:
    """The reason for a failure below HTTP.

    ``body_started`` (a body byte arrived) tells a stall from a timeout; ``after_headers``
    (the response had begun) tells a truncated stream from a refused connection.
    """
    text = redact(_first_line(err), *secrets)
    failure = err.failure
    if failure == "url":
        return ProbeError("invalid_url", f"bad URL: {text}")
    if failure == "request":
        return ProbeError("client_error", f"cannot send the request: {text}")
    if failure == "connect_timeout":
        return ProbeError("timeout", f"connect timed out: {text}")
    if failure == "read_timeout":
        if body_started:
            return ProbeError("stall", "the stream went quiet past stall_timeout")
        return ProbeError("timeout", "no response within stall_timeout")
    if failure == "proxy_auth":
        return ProbeError("auth", f"proxy authentication failed: {text}")
    if failure == "dns":
        return ProbeError("dns", f"name resolution failed: {text}")
    if failure == "tls":
        return ProbeError("tls", f"TLS failed: {text}")
    if after_headers and failure == "closed":
        return ProbeError("truncated", f"connection closed mid-stream: {text}")
    if failure == "closed":
        return ProbeError("connect", f"server closed the connection: {text}")
    if failure == "protocol":
        return ProbeError("protocol", f"malformed HTTP/1.1 response: {text}")
    return ProbeError("connect", f"cannot connect: {text}")


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:200]
