"""Splitting a byte stream into text lines, for NDJSON bodies (Ollama, Gemini's bare errors)."""

from __future__ import annotations

import codecs

from exporter.errors import ProbeError


class LineSplitter:
    """Text lines from bytes fed in arbitrary pieces: UTF-8 and CRLF may be split anywhere."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._buffer = ""

    def feed(self, data: bytes) -> list[str]:
        self._buffer += self._decode(data, final=False)
        *lines, self._buffer = self._buffer.split("\n")
        return [line.removesuffix("\r") for line in lines]

    def close(self) -> list[str]:
        """The last line, even without a newline (servers may omit the final one)."""
        rest = self._buffer + self._decode(b"", final=True)
        self._buffer = ""
        return [rest.removesuffix("\r")] if rest.strip() else []

    def _decode(self, data: bytes, *, final: bool) -> str:
        try:
            return self._utf8.decode(data, final=final)
        except UnicodeDecodeError as err:
            raise ProbeError("protocol", f"stream is not valid UTF-8: {err.reason}") from None
