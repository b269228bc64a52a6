"""Splitting a byte stream into text lines, for NDJSON bodies (Ollama, Gemini's bare errors)."""

from __future__ import annotations

from exporter.errors import ProbeError


class LineSplitter:
    """Text lines from bytes fed in arbitrary pieces: UTF-8 and CRLF may be split anywhere.

    Lines are split as bytes and decoded whole (LF never occurs inside a UTF-8 sequence),
    so a piece costs one split and a decode per line."""

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # the pieces of an unfinished line

    def feed(self, data: bytes) -> list[str]:
        if b"\n" not in data:  # joined once its end comes, not at every piece
            if data:
                self._pending.append(data)
            return []
        buffer = b"".join((*self._pending, data)) if self._pending else data
        *lines, rest = buffer.split(b"\n")
        self._pending = [rest] if rest else []
        return [_decode(line.removesuffix(b"\r")) for line in lines]

    def close(self) -> list[str]:
        """The last line, even without a newline (servers may omit the final one)."""
        rest, self._pending = b"".join(self._pending), []
        return [_decode(rest.removesuffix(b"\r"))] if rest.strip() else []


def _decode(line: bytes) -> str:
    try:
        return line.decode()
    except UnicodeDecodeError as err:
        raise ProbeError("protocol", f"stream is not valid UTF-8: {err.reason}") from None
