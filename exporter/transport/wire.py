"""One HTTP/1.1 client connection: an asyncio protocol that h11 parses for.

The event loop hands bytes to ``data_received``; the probe's task turns them into h11
events when it asks for the next one, so a streamed chunk costs one wake-up of that task
and no other. Silence is watched by one timer per connection that is moved on only when
it fires (at most once per ``stall_timeout``), not one timer per read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

import h11

from exporter.transport.netfail import TransportError

_PAUSE_BYTES = 256 * 1024  # unread bytes before the socket stops being read


class Wire(asyncio.Protocol):
    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self._h11 = h11.Connection(h11.CLIENT)
        self._inbox: list[bytes] = []
        self._unread = 0
        self._paused = False
        self._eof = False  # the peer closed (or the connection was lost)
        self._eof_fed = False
        self._lost: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._stall = 0.0
        self._last = 0.0  # loop time of the last byte received (or of the request sent)
        self._timer: asyncio.TimerHandle | None = None
        self.received = False  # a byte of the current response arrived

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
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._lost = exc
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- used by the probe client ---------------------------------------------------------

    @property
    def usable(self) -> bool:
        """Idle, open, and nothing arrived since the last response ended."""
        return (
            not self._eof
            and not self._inbox
            and self.transport is not None
            and not self.transport.is_closing()
            and self._h11.our_state is h11.IDLE
        )

    def close(self) -> None:
        self._cancel_timer()
        if self.transport is not None:
            self.transport.close()

    def reset(self) -> None:
        """Start a new h11 state machine (after a proxy tunnel switched protocols)."""
        self._h11 = h11.Connection(h11.CLIENT)

    def send(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> None:
        """Write one request; raises TransportError('request') if h11 refuses a header."""
        assert self.transport is not None
        try:
            data = self._h11.send(h11.Request(method=method, target=target, headers=list(headers)))
            if body:
                data = (data or b"") + (self._h11.send(h11.Data(data=body)) or b"")
            data = (data or b"") + (self._h11.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:
            # h11's text quotes the bad value, which may be a key: never pass it on.
            raise TransportError(
                "request", "a request header or the target has a forbidden character"
            ) from None
        self.received = False
        self._last = self._loop.time()
        self.transport.write(data)

    async def head(self, stall: float) -> h11.Response:
        """The final response head (1xx are skipped); ``stall`` bounds each silence."""
        self._stall = stall
        while True:
            event = await self._event()
            if isinstance(event, h11.Response):
                return event
            if isinstance(event, h11.ConnectionClosed):
                raise TransportError("closed", "the server closed the connection before answering")

    async def read(self) -> bytes:
        """The next piece of the body; b"" once it ended as its framing says."""
        event = await self._event()
        if type(event) is h11.Data:
            return bytes(event.data)
        if isinstance(event, h11.EndOfMessage):
            self._cancel_timer()
            if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
                self._h11.start_next_cycle()
            return b""
        raise TransportError("closed", "the server closed the connection mid-body")

    # -- internals ----------------------------------------------------------------------

    async def _event(self) -> h11.Event | type[h11.PAUSED]:
        conn = self._h11
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as err:
                if self._eof_fed:
                    raise TransportError("closed", str(err)) from None
                raise TransportError("protocol", str(err)) from None
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]  # NEED_DATA is handled here
            if self._inbox:
                data = self._inbox[0] if len(self._inbox) == 1 else b"".join(self._inbox)
                self._inbox.clear()
                self._unread = 0
                if self._paused and self.transport is not None:
                    self._paused = False
                    self.transport.resume_reading()
                conn.receive_data(data)
            elif self._eof and not self._eof_fed:
                if self._lost is not None:
                    raise TransportError("closed", f"connection lost: {self._lost}")
                self._eof_fed = True
                conn.receive_data(b"")
            elif self._eof_fed:
                raise TransportError("closed", "the server closed the connection")
            else:
                await self._wait()

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
