"""Mapping HTTP statuses and transport failures onto the fixed reason set."""

from __future__ import annotations

import email.utils
import math
import socket
import ssl
import time
from collections.abc import Mapping

import httpx

from exporter.errors import ProbeError, Reason
from servicekit.redact import redact


def status_reason(status: int) -> Reason:
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
    err: httpx.HTTPError,
    *,
    after_headers: bool,
    body_started: bool,
    secrets: tuple[str, ...] = (),
) -> ProbeError:
    """The reason for a failure below HTTP.

    ``body_started`` (a body byte arrived) tells a stall from a timeout; ``after_headers``
    (the response had begun) tells a truncated stream from a refused connection.
    """
    chain = list(_causes(err))
    text = redact(_first_line(err), *secrets)
    if isinstance(err, httpx.ConnectTimeout):
        return ProbeError("timeout", f"connect timed out: {text}")
    if isinstance(err, httpx.TimeoutException):
        if body_started:
            return ProbeError("stall", "the stream went quiet past stall_timeout")
        return ProbeError("timeout", "no response within stall_timeout")
    if any(isinstance(c, socket.gaierror) for c in chain) or _looks_like_dns(chain):
        return ProbeError("dns", f"name resolution failed: {text}")
    if any(isinstance(c, ssl.SSLError | ssl.CertificateError) for c in chain):
        return ProbeError("tls", f"TLS failed: {text}")
    if isinstance(err, httpx.DecodingError):
        return ProbeError("protocol", f"cannot decode the body: {text}")
    if isinstance(err, httpx.ConnectError):
        return ProbeError("connect", f"cannot connect: {text}")
    if after_headers and isinstance(err, httpx.RemoteProtocolError | httpx.ReadError):
        return ProbeError("truncated", f"connection closed mid-stream: {text}")
    if isinstance(err, httpx.RemoteProtocolError):
        return ProbeError("connect", f"server closed the connection: {text}")
    if isinstance(err, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ProbeError("client_error", f"bad URL: {text}")
    return ProbeError("connect", f"transport error: {text}")


def _causes(err: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _looks_like_dns(chain: list[BaseException]) -> bool:
    markers = (
        "name or service not known",
        "temporary failure in name resolution",
        "nodename nor servname",
        "no address associated",
        "getaddrinfo failed",
    )
    return any(m in str(c).lower() for c in chain for m in markers)


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:200]
