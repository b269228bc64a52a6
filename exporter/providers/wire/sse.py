"""Incremental server-sent events decoder (WHATWG HTML, "Interpreting an event stream").

Bytes arrive in arbitrary pieces: a line, a CRLF pair or a UTF-8 sequence may be split
anywhere. Lines end in CRLF, LF or CR; ``data`` lines of one event are joined with "\\n";
a blank line dispatches the event; lines starting with ":" are comments.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from exporter.errors import ProbeError
from exporter.providers.protocol import StreamEvent


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str


class SseDecoder:
    """Works on bytes: lines are split before decoding (CR and LF never occur inside a
    UTF-8 sequence), so a piece costs a split and each line one strict decode."""

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # the pieces of an unfinished line
        self._skip_lf = False  # the previous piece ended in CR: a leading LF belongs to it
        self._first = True  # the stream's first line may start with a byte order mark
        self._event = ""
        self._data: list[str] = []

    def feed(self, data: bytes) -> list[SseEvent]:
        if self._skip_lf:
            self._skip_lf = False
            data = data[1:] if data[:1] == b"\n" else data
        if b"\n" not in data and b"\r" not in data:
            # Kept as pieces, joined once its end comes: re-joining a long line at every
            # piece cost time quadratic in its length.
            if data:
                self._pending.append(data)
            return []
        buffer = b"".join((*self._pending, data)) if self._pending else data
        if b"\r" in buffer:
            self._skip_lf = buffer.endswith(b"\r")  # a CR ends a line; it may be half a CRLF
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, rest = buffer.split(b"\n")
        self._pending = [rest] if rest else []
        return self._lines(lines) if lines else []

    def close(self) -> list[SseEvent]:
        """End of body: a last line without terminator still counts, as the SDKs read it."""
        rest, self._pending = b"".join(self._pending), []
        events = self._lines([rest]) if rest else []
        if self._data:
            events.append(self._dispatch())
        return events

    def _lines(self, lines: list[bytes]) -> list[SseEvent]:
        events: list[SseEvent] = []
        if self._first:
            self._first = False
            lines[0] = lines[0].removeprefix(b"\xef\xbb\xbf")
        for raw in lines:
            if raw:
                try:
                    line = raw.decode()
                except UnicodeDecodeError as err:
                    raise ProbeError(
                        "protocol", f"stream is not valid UTF-8: {err.reason}"
                    ) from None
                self._line(line)
            elif self._data:
                events.append(self._dispatch())
            else:
                self._event = ""
        return events

    def _line(self, line: str) -> None:
        if line.startswith(":"):
            return
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        # "id" and "retry" matter for reconnection only; a probe never reconnects.

    def _dispatch(self) -> SseEvent:
        event = SseEvent(self._event or "message", "\n".join(self._data))
        self._event = ""
        self._data = []
        return event


class MarkedStreamDecoder(abc.ABC):
    """An SSE body that ends with a marker event (OpenAI's ``[DONE]``, Anthropic's
    ``message_stop``): events after it are ignored, and a body without it is truncated.
    Subclasses decode one event at a time and call ``finish()`` at the marker."""

    #: how the end marker is named in the "truncated" error
    end_marker = "the end marker"

    def __init__(self) -> None:
        self._sse = SseDecoder()
        self._done = False

    def finish(self) -> None:
        self._done = True

    def feed(self, data: bytes) -> list[StreamEvent]:
        return self._decode(self._sse.feed(data))

    def close(self) -> list[StreamEvent]:
        events = self._decode(self._sse.close())
        if not self._done:
            raise ProbeError("truncated", f"stream ended before {self.end_marker}")
        return events

    def _decode(self, sse_events: list[SseEvent]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for sse in sse_events:
            if not self._done:
                out.extend(self.event(sse))
        return out

    @abc.abstractmethod
    def event(self, sse: SseEvent) -> list[StreamEvent]:
        """The events one SSE event carries; raise ProbeError on a bad or error event."""
