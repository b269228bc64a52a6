"""One HTTP/1.1 client connection: an asyncio protocol with a parser behind it.

The event loop hands bytes to ``data_received``; the probe's task parses them when it asks
for the next piece of the body, so a streamed chunk costs one wake-up of that task and no
other. Silence is watched by one timer per connection that is moved on only when it fires
(at most once per ``stall_timeout``), not by a timer per read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

from exporter.transport.http11 import Head, ResponseParser, encode_request
from exporter.transport.netfail import TransportError

_PAUSE_BYTES = 256 * 1024  # unread bytes before the socket stops being read


class Wire(asyncio.Protocol):
    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self._parser: ResponseParser | None = None  # the response being read
        self._pending = b""  # body bytes that came with the head
        self._inbox: list[bytes] = []
        self._unread = 0
        self._paused = False
        self._eof = False  # the peer closed, or the connection was lost
        self._lost: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._stall = 0.0
        self._last = 0.0  # loop time of the last byte received (or of the request sent)
        self._timer: asyncio.TimerHandle | None = None
        self.received = False  # a byte of the current response arrived
        self.reusable = False  # the last response ended cleanly and both sides keep the line

    # -- asyncio.Protocol: called by the event loop ------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self._inbox.append(data)
        self._unread += len(data)
        self._last = self._loop.time()
        self.received = True
        if self._unread > _PAUSE_BYTES and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def eof_received(self) -> bool:
        self.connection_lost(None)
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._lost = exc
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- used by the probe client ---------------------------------------------------------

    @property
    def usable(self) -> bool:
        """Kept open by both sides, and nothing arrived since the last response ended."""
        return (
            self.reusable
            and not self._eof
            and not self._inbox
            and self.transport is not None
            and not self.transport.is_closing()
        )

    def close(self) -> None:
        self.reusable = False
        self._cancel_timer()
        if self.transport is not None:
            self.transport.close()

    def send(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        *,
        keep: bool = True,
    ) -> None:
        """Write one request; the response is then read with ``head`` and ``read``."""
        assert self.transport is not None
        data = encode_request(method, target, headers, body)
        self._parser = ResponseParser(method, may_keep=keep)
        self.reusable = self.received = False
        self._last = self._loop.time()
        self.transport.write(data)

    async def head(self, stall: float) -> Head:
        """The final response head (1xx skipped); ``stall`` bounds each silence after it."""
        assert self._parser is not None
        self._stall = stall
        while self._parser.head is None:
            self._pending += await self._next()
        return self._parser.head

    async def read(self) -> bytes:
        """The next piece of the body; b"" once it ended as its framing says."""
        parser = self._parser
        assert parser is not None
        assert parser.head is not None
        if self._pending:
            piece, self._pending = self._pending, b""
            return piece
        while not parser.done:
            piece = await self._next()
            if piece:
                return piece
        self._cancel_timer()
        self.reusable = parser.head.keep_alive
        return b""

    # -- internals ----------------------------------------------------------------------

    async def _next(self) -> bytes:
        """Feed what arrived to the parser (waiting if nothing did); the body bytes it gave."""
        parser = self._parser
        assert parser is not None
        while not self._inbox:
            if self._eof:
                if self._lost is not None:
                    raise TransportError("closed", f"connection lost: {self._lost}")
                return parser.eof()
            await self._wait()
        inbox = self._inbox
        data = inbox[0] if len(inbox) == 1 else b"".join(inbox)
        inbox.clear()
        self._unread = 0
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return parser.feed(data)

    async def _wait(self) -> None:
        waiter = self._loop.create_future()
        self._waiter = waiter
        if self._timer is None:
            self._timer = self._loop.call_at(self._last + self._stall, self._check_stall)
        try:
            await waiter
        finally:
            self._waiter = None

    def _check_stall(self) -> None:
        """Fail the waiting read if nothing came for ``stall`` seconds, else look again then."""
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # not waiting: the next wait arms the timer again
        due = self._last + self._stall
        if self._loop.time() >= due:
            waiter.set_exception(
                TransportError("read_timeout", f"nothing received for {self._stall:g}s")
            )
        else:
            self._timer = self._loop.call_at(due, self._check_stall)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
