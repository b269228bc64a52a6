"""Reading an HTTP body from a peer into memory with a limit that holds after decompression.

httpx decodes whatever ``Content-Encoding`` a server names, asked for or not, and a layer of
gzip inside another (``gzip, gzip``) turns a few hundred bytes into hundreds of megabytes in
one decoded chunk, before a limit counted on decoded chunks can look. Here the raw bytes are
decoded as they come, never more than the limit at a time: identity, or one layer of gzip
(what Prometheus, VictoriaMetrics, Thanos and Mimir send when asked); anything else is
refused by name.
"""

from __future__ import annotations

import time
import zlib

import httpx

from servicekit.errors import LLMscopeError


class BodyError(LLMscopeError):
    """The body is past the limit, or encoded in a way this reader does not take."""


class BoundedBody:
    """The decoded bytes of one body, fed raw (``response.iter_raw``) piece by piece."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        encoding = (content_encoding or "identity").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip"):
            raise BodyError(f"Content-Encoding {encoding!r} is not identity or gzip")
        self.limit = limit
        self.data = bytearray()
        self._gzip = zlib.decompressobj(wbits=31) if encoding != "identity" else None
        self._fed = False  # any raw bytes at all

    def feed(self, raw: bytes) -> None:
        self._fed = self._fed or bool(raw)
        if self._gzip is None:
            self.data += raw
        else:
            self._inflate(raw)
        if len(self.data) > self.limit:
            raise BodyError(f"larger than {self.limit} bytes")

    def finish(self) -> bytearray:
        """The whole body; BodyError where the gzip stream was cut short (an empty body
        marked gzip is empty, as httpx reads it: a 204, an error without text)."""
        if self._gzip is not None and self._fed and not self._gzip.eof:
            raise BodyError("gzip stream cut short")
        return self.data

    def _inflate(self, raw: bytes) -> None:
        assert self._gzip is not None
        pending = raw
        try:
            while pending and len(self.data) <= self.limit:
                if self._gzip.eof:  # another gzip member follows (RFC 1952 allows several)
                    self._gzip = zlib.decompressobj(wbits=31)
                # max_length bounds each step's output; the rest waits in unconsumed_tail.
                self.data += self._gzip.decompress(pending, self.limit + 1 - len(self.data))
                pending = self._gzip.unconsumed_tail or self._gzip.unused_data
        except zlib.error as err:
            raise BodyError(f"not valid gzip: {err}") from None


def read(response: httpx.Response, limit: int, seconds: float) -> bytearray:
    """The decoded body of a streamed httpx response, within ``limit`` bytes and ``seconds``
    from now (httpx's timeouts bound each read, not a body that trickles); BodyError."""
    reader = _reader(response, limit)
    if not response.is_stream_consumed:
        deadline = time.monotonic() + seconds
        for chunk in response.iter_raw():
            reader.feed(chunk)
            if time.monotonic() > deadline:
                raise BodyError(f"not whole within {seconds:g}s")
    return reader.finish()


async def aread(response: httpx.Response, limit: int) -> bytearray:
    """``read`` for an async response, whose caller bounds its time (asyncio.timeout)."""
    reader = _reader(response, limit)
    if not response.is_stream_consumed:
        async for chunk in response.aiter_raw():
            reader.feed(chunk)
    return reader.finish()


def _reader(response: httpx.Response, limit: int) -> BoundedBody:
    """A reader for the response's raw body; for one built in memory (a mock transport),
    whose body httpx has read and decoded already, a reader holding that body."""
    if not response.is_stream_consumed:
        return BoundedBody(response.headers.get("content-encoding"), limit)
    reader = BoundedBody(None, limit)
    reader.feed(response.content)
    return reader
