"""HTTP providers: the base class, and the HTTP half that sends one request and streams its
body to the provider's decoder.

Transport failures and error statuses become ProbeErrors with a reason here, once for all
wire formats; the decoder sees only the bytes of a successful streaming answer.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from exporter.errors import ProbeError, Reason
from exporter.providers.protocol import (
    HttpCall,
    ProbeContext,
    Provider,
    StreamDecoder,
    StreamEvent,
)
from exporter.providers.wire.jsonbody import error_summary
from exporter.transport.netfail import classify_transport_error, retry_after_seconds, status_reason
from exporter.transport.pools import POOL_KEY
from servicekit.redact import redact

if TYPE_CHECKING:
    from exporter.config.types import TargetConfig

_ERROR_BODY_LIMIT = 64 * 1024


async def http_stream(
    ctx: ProbeContext, call: HttpCall, provider: HttpProvider
) -> AsyncIterator[StreamEvent]:
    """Send ``call`` and decode its body as it arrives; transport errors become reasons."""
    headers = dict(call.headers)
    if ctx.target.connection == "fresh":
        headers["Connection"] = "close"  # the next probe pays DNS, connect and TLS again
    tracer = _PhaseTracer(ctx)
    request = ctx.client.build_request(
        call.method,
        call.url,
        headers=headers,
        content=call.body,
        timeout=httpx.Timeout(ctx.target.timeout, read=ctx.target.stall_timeout),
        extensions={"trace": tracer, POOL_KEY: ctx.target.name},
    )
    try:
        response = await ctx.client.send(request, stream=True)
    except httpx.HTTPError as err:
        raise classify_transport_error(
            err, after_headers=False, body_started=False, secrets=call.secrets
        ) from None
    try:
        ctx.status = response.status_code
        ctx.headers = response.headers
        if response.status_code >= 400:
            body = await _read_limited(response, _ERROR_BODY_LIMIT)
            detail = redact(provider.error_message(response.status_code, body), *call.secrets)
            status = response.status_code
            raise ProbeError(
                provider.error_reason(status, body, status_reason(status)),
                f"HTTP {status}: {detail}",
                status=status,
                retry_after=retry_after_seconds(response.headers) or provider.retry_after(body),
            )
        _check_content_type(response, call)
        decoder = provider.decoder()
        received = 0
        async for piece in response.aiter_bytes():
            ctx.body_started = True
            received += len(piece)
            if received > ctx.max_body_bytes:
                raise ProbeError(
                    "oversized", f"response body passed the {ctx.max_body_bytes} byte limit"
                )
            for event in decoder.feed(piece):
                yield event
        for event in decoder.close():
            yield event
    except httpx.HTTPError as err:
        raise classify_transport_error(
            err, after_headers=True, body_started=ctx.body_started, secrets=call.secrets
        ) from None
    finally:
        await response.aclose()


def _check_content_type(response: httpx.Response, call: HttpCall) -> None:
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media not in call.content_types:
        raise ProbeError(
            "protocol",
            f"unexpected content type {media} (expected {', '.join(call.content_types)})",
            status=response.status_code,
        )


async def _read_limited(response: httpx.Response, limit: int) -> bytes:
    """An error body, as much as arrives: the status, not a broken body, is the failure."""
    body = b""
    try:
        async for piece in response.aiter_bytes():
            body += piece
            if len(body) >= limit:
                break
    except httpx.HTTPError:
        pass
    return body[:limit]


class _PhaseTracer:
    """httpcore's trace hook: connect (DNS and TCP together, as httpcore does them),
    TLS handshake, and the wait for response headers after the request was sent."""

    _PHASES: Mapping[str, str] = {
        "connection.connect_tcp": "connect",
        "connection.start_tls": "tls",
        "http11.receive_response_headers": "first_byte",
        "http2.receive_response_headers": "first_byte",
    }

    def __init__(self, ctx: ProbeContext) -> None:
        self._ctx = ctx
        self._started: dict[str, float] = {}

    async def __call__(self, name: str, info: Mapping[str, Any]) -> None:
        stem, _, stage = name.rpartition(".")
        phase = self._PHASES.get(stem)
        if phase is None:
            return
        if stage == "started":
            self._started[phase] = self._ctx.clock()
        elif stage == "complete" and phase in self._started:
            self._ctx.phases[phase] = self._ctx.clock() - self._started.pop(phase)


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
