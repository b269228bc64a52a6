"""HTTP providers: the base class, and the HTTP half that sends one request and streams its
body to the provider's decoder.

Transport failures and error statuses become ProbeErrors with a reason here, once for all
wire formats; the decoder sees only the bytes of a successful streaming answer.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from exporter.errors import ProbeError, Reason
from exporter.providers.protocol import (
    HttpCall,
    ProbeContext,
    Provider,
    StreamDecoder,
    StreamEvent,
)
from exporter.providers.wire.jsonbody import error_summary
from exporter.transport.client import Request, Response, keepalive_idle
from exporter.transport.netfail import (
    TransportError,
    classify_transport_error,
    retry_after_seconds,
    status_reason,
)
from servicekit.redact import redact

if TYPE_CHECKING:
    from exporter.config.types import TargetConfig

_ERROR_BODY_LIMIT = 64 * 1024


async def http_stream(
    ctx: ProbeContext, call: HttpCall, provider: HttpProvider
) -> AsyncIterator[StreamEvent]:
    """Send ``call`` and decode its body as it arrives; transport errors become reasons.

    Phases (dns, connect, tls, first_byte) land in ``ctx.phases`` as the client passes them.
    """
    target = ctx.target
    request = Request(
        call.method,
        call.url,
        call.headers,
        call.body,
        pool=target.name,
        timeout=target.timeout,
        stall=target.stall_timeout,
        fresh=target.connection == "fresh",  # the next probe pays DNS, connect and TLS again
        keep_idle=keepalive_idle(target.interval),
    )
    try:
        response = await ctx.client.send(request, ctx.phases, ctx.clock)
    except TransportError as err:
        raise classify_transport_error(
            err, after_headers=False, body_started=False, secrets=call.secrets
        ) from None
    try:
        status = ctx.status = response.status
        ctx.headers = response.headers
        if status >= 400:
            body = await _read_limited(response, _ERROR_BODY_LIMIT)
            detail = redact(provider.error_message(status, body), *call.secrets)
            raise ProbeError(
                provider.error_reason(status, body, status_reason(status)),
                f"HTTP {status}: {detail}",
                status=status,
                retry_after=retry_after_seconds(response.headers) or provider.retry_after(body),
            )
        if 300 <= status < 400:
            raise _redirect(response, call)
        _check_content_type(response, call)
        decoder = provider.decoder()
        limit, received = ctx.max_body_bytes, 0
        while piece := await response.read():
            ctx.body_started = True
            received += len(piece)
            if received > limit:
                raise ProbeError("oversized", f"response body passed the {limit} byte limit")
            for event in decoder.feed(piece):
                yield event
        for event in decoder.close():
            yield event
    except TransportError as err:
        raise classify_transport_error(
            err, after_headers=True, body_started=ctx.body_started, secrets=call.secrets
        ) from None
    finally:
        response.close()


def _check_content_type(response: Response, call: HttpCall) -> None:
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media not in call.content_types:
        raise ProbeError(
            "protocol",
            f"unexpected content type {media} (expected {', '.join(call.content_types)})",
            status=response.status,
        )
    # A list (RFC 9110 section 8.4) whose empty elements a recipient ignores: an empty
    # field, or "identity", names no coding, so the body is read as it is.
    raw = response.headers.get("content-encoding", "")
    codings = [
        c.strip().lower() for c in raw.split(",") if c.strip().lower() not in ("", "identity")
    ]
    if codings:
        raise ProbeError(
            "protocol",
            f"the body is {', '.join(codings)}-encoded (Content-Encoding: {raw[:40]}) although "
            "the probe asked for identity",
            status=response.status,
        )


def _redirect(response: Response, call: HttpCall) -> ProbeError:
    """A 3xx: probes measure the URL they were given and follow no redirect. Its query is
    left out of the message (a signed URL's may hold a credential)."""
    location = response.headers.get("location", "").split("?")[0][:200]
    where = f" to {redact(location, *call.secrets)}" if location else " without a Location"
    return ProbeError(
        "protocol",
        f"HTTP {response.status}: a redirect{where}; probes follow no redirect, so point "
        "base_url at where it leads",
        status=response.status,
    )


async def _read_limited(response: Response, limit: int) -> bytes:
    """An error body, as much as arrives: the status, not a broken body, is the failure."""
    body = b""
    try:
        while piece := await response.read():
            body += piece
            if len(body) >= limit:
                break
    except TransportError:
        pass
    return body[:limit]


class HttpProvider(Provider):
    """A provider whose probe is one streaming HTTP request."""

    @abc.abstractmethod
    def build_call(self, target: TargetConfig, prompt: str, api_key: str | None) -> HttpCall:
        """The request for ``prompt``; ``max_tokens`` is always set (cost guard)."""

    @abc.abstractmethod
    def decoder(self) -> StreamDecoder:
        """A fresh decoder for one response body."""

    def error_message(self, status: int, body: bytes) -> str:
        """A one-line summary of an error body; providers refine this for their format."""
        return error_summary(body)

    def error_reason(self, status: int, body: bytes, reason: Reason) -> Reason:
        """The reason for an error status; providers that say "bad key" with a 400 refine it."""
        return reason

    def retry_after(self, body: bytes) -> float | None:
        """A wait the provider asks for in the error body rather than in a header."""
        return None

    def stream(self, ctx: ProbeContext) -> AsyncIterator[StreamEvent]:
        call = self.build_call(ctx.target, ctx.prompt, ctx.api_key)
        return http_stream(ctx, call, self)
