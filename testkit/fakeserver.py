"""A scriptable HTTP/1.1 server on 127.0.0.1 for fake LLM providers.

It writes raw bytes on purpose: each scripted step is sent as one chunk of a chunked body
after its delay, so tests control exactly when each byte leaves, and can end a stream the
way broken servers do (close without the final chunk, go silent, send garbage).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    data: bytes
    delay: float = 0.0  # seconds to wait before sending this piece


@dataclass
class Script:
    """One scripted answer."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    # After the steps: "end" finishes the body, "close" drops the connection without
    # the final chunk (truncated), "hang" keeps it open and silent (stall).
    ending: str = "end"
    # Delay before the status line, for timeouts before any response.
    header_delay: float = 0.0
    # The whole response as bytes, written in ``raw_piece``-byte pieces (0: in one write)
    # and the connection closed after it: for servers that break HTTP/1.1 itself (a bad
    # Content-Length, a folded field). Status, headers and steps are then unused.
    raw: bytes | None = None
    raw_piece: int = 0


@dataclass(frozen=True)
class FakeRequest:
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


Route = Callable[[FakeRequest], Script]

_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    529: "Overloaded",
}


class FakeServer:
    def __init__(
        self, route: Route, on_sent: Callable[[FakeRequest, int, float], None] | None = None
    ) -> None:
        self.route = route
        # Called with (request, step index, time.monotonic()) once each step is written:
        # benchmarks compare these send times with what the client measured.
        self.on_sent = on_sent
        self.requests: list[FakeRequest] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                keep = await self._answer(self.route(request), writer, request)
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(
        self, script: Script, writer: asyncio.StreamWriter, request: FakeRequest
    ) -> bool:
        if script.header_delay:
            await asyncio.sleep(script.header_delay)
        if script.raw is not None:
            size = script.raw_piece or len(script.raw) or 1
            for start in range(0, len(script.raw), size):
                writer.write(script.raw[start : start + size])
                await writer.drain()
            return False
        head = [f"HTTP/1.1 {script.status} {_REASONS.get(script.status, 'Status')}"]
        head += [f"{k}: {v}" for k, v in script.headers.items()]
        head.append("Transfer-Encoding: chunked")
        close = request.headers.get("connection", "").lower() == "close"
        if close:
            head.append("Connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        for index, step in enumerate(script.steps):
            if step.delay:
                await asyncio.sleep(step.delay)
            if step.data:
                writer.write(b"%x\r\n%s\r\n" % (len(step.data), step.data))
                await writer.drain()
                if self.on_sent is not None:
                    self.on_sent(request, index, time.monotonic())
        if script.ending == "close":
            return False
        if script.ending == "hang":
            await asyncio.sleep(3600)
            return False
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return not close


async def _read_request(reader: asyncio.StreamReader) -> FakeRequest | None:
    line = await reader.readline()
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    path, _, query = target.partition("?")
    return FakeRequest(method, path, query, headers, body)


@contextlib.asynccontextmanager
async def serving(route: Route) -> AsyncIterator[FakeServer]:
    server = FakeServer(route)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.contextmanager
def serving_in_thread(route: Route) -> Iterator[FakeServer]:
    """The same server on its own loop in a thread, for tests that run a subprocess."""
    loop = asyncio.new_event_loop()
    server = FakeServer(route)
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def sse(*events: str, delay: float = 0.0) -> list[Step]:
    """Each event (already framed, e.g. ``data: {...}\\n\\n``) as one step."""
    return [Step(e.encode(), delay) for e in events]
