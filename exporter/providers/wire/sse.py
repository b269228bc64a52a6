"""Incremental server-sent events decoder (WHATWG HTML, "Interpreting an event stream").

Bytes arrive in arbitrary pieces: a line, a CRLF pair or a UTF-8 sequence may be split
anywhere. Lines end in CRLF, LF or CR; ``data`` lines of one event are joined with "\\n";
a blank line dispatches the event; lines starting with ":" are comments.
"""

from __future__ import annotations

import abc
import codecs
from dataclasses import dataclass

from exporter.errors import ProbeError
from exporter.providers.protocol import StreamEvent


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str


class SseDecoder:
    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._buffer = ""
        self._skip_lf = False  # the previous piece ended in CR: a leading LF belongs to it
        self._event = ""
        self._data: list[str] = []
        self._started = False

    def feed(self, data: bytes) -> list[SseEvent]:
        try:
            text = self._utf8.decode(data)
        except UnicodeDecodeError as err:
            raise ProbeError("protocol", f"stream is not valid UTF-8: {err.reason}") from None
        if not self._started and text:
            text = text.removeprefix("\ufeff")
            self._started = True
        if self._skip_lf and text.startswith("\n"):
            text = text[1:]
        self._skip_lf = False
        self._buffer += text
        return self._drain()

    def close(self) -> list[SseEvent]:
        """End of body: a last line without terminator still counts, as the SDKs read it."""
        try:
            self._buffer += self._utf8.decode(b"", final=True)
        except UnicodeDecodeError as err:
            raise ProbeError("protocol", f"stream is not valid UTF-8: {err.reason}") from None
        events = self._drain()
        if self._buffer:
            self._line(self._buffer)
            self._buffer = ""
        if self._data:
            events.append(self._dispatch())
        return events

    def _drain(self) -> list[SseEvent]:
        events: list[SseEvent] = []
        buffer = self._buffer
        start = 0
        while True:
            cr = buffer.find("\r", start)
            lf = buffer.find("\n", start)
            if cr < 0 and lf < 0:
                break
            if cr >= 0 and (lf < 0 or cr < lf):
                end, nxt = cr, cr + 1
                if nxt == len(buffer):
                    self._skip_lf = True  # maybe CRLF split across pieces
                elif buffer[nxt] == "\n":
                    nxt += 1
            else:
                end, nxt = lf, lf + 1
            line = buffer[start:end]
            start = nxt
            if line:
                self._line(line)
            elif self._data or self._event:
                if self._data:
                    events.append(self._dispatch())
                else:
                    self._event = ""
        self._buffer = buffer[start:]
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
