"""Splitting a byte stream into text lines, for NDJSON bodies (Ollama, Gemini's bare errors)."""

from __future__ import annotations

from exporter.errors import ProbeError


class LineSplitter:
    """Text lines from bytes fed in arbitrary pieces: UTF-8 and CRLF may be split anywhere.

    Lines are split as bytes and decoded whole (LF never occurs inside a UTF-8 sequence),
    so a piece costs one split and a decode per line."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[str]:
        buffer = self._buffer + data if self._buffer else data
        *lines, self._buffer = buffer.split(b"\n")
        return [_decode(line.removesuffix(b"\r")) for line in lines]

    def close(self) -> list[str]:
        """The last line, even without a newline (servers may omit the final one)."""
        rest, self._buffer = self._buffer, b""
        return [_decode(rest.removesuffix(b"\r"))] if rest.strip() else []


def _decode(line: bytes) -> str:
    try:
        return line.decode()
    except UnicodeDecodeError as err:
        raise ProbeError("protocol", f"stream is not valid UTF-8: {err.reason}") from None
