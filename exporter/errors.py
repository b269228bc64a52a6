"""Probe failures: ProbeError (a leaf of servicekit.errors' tree) and its fixed set of reasons.

Reasons are label values, so the set is small and fixed: error text from a server is never
a label, only a log line.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from servicekit.errors import LLMscopeError

Reason = Literal[
    "auth",  # 401 or 403, or a proxy that wants credentials (407)
    "rate_limited",  # 429
    "client_error",  # any other 4xx
    "server_error",  # 5xx
    "provider_error",  # an error event or error object inside a 200 stream
    "dns",  # the host name does not resolve
    "connect",  # connection refused or reset before a response, or a proxy refused it
    "tls",  # TLS handshake or certificate failure
    "timeout",  # no response within the connect/first-byte/overall deadline
    "stall",  # the stream started, then went quiet for longer than stall_timeout
    "protocol",  # wrong content type, malformed HTTP, frame or JSON, invalid UTF-8, a 3xx
    "truncated",  # the stream ended before the provider's end marker
    "oversized",  # the body grew past the configured limit
    "empty",  # the stream ended normally with no content
    "invalid_url",  # the request URL cannot be used (no scheme, ftp://, a bad port)
    "internal",  # a bug in LLMscope; logged with a traceback
]
REASONS: Final[tuple[str, ...]] = get_args(Reason)


class ProbeError(LLMscopeError):
    """A probe failed for ``reason``; ``retry_after`` is the server's wish in seconds."""

    def __init__(
        self,
        reason: Reason,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.status = status
        self.retry_after = retry_after
