"""The AWS event stream binary framing (``application/vnd.amazon.eventstream``).

Every message is::

    total length (u32) | headers length (u32) | prelude CRC32 (u32)
    headers ...        | payload ...          | message CRC32 (u32)

all big-endian; the prelude CRC covers the first 8 bytes, the message CRC everything
before it. A header is a 1-byte name length, the UTF-8 name, a 1-byte type and a typed
value. The prelude CRC is checked before the lengths are trusted, so a corrupted length
is reported as such instead of making the decoder wait for bytes that never come.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from exporter.errors import ProbeError

PRELUDE = 12  # total length, headers length, prelude CRC
MINIMUM = PRELUDE + 4
# botocore's limits: 128 KiB of headers, 24 MiB of payload.
MAX_HEADERS = 128 * 1024
MAX_TOTAL = MINIMUM + MAX_HEADERS + 24 * 1024 * 1024

# Header value types, as the specification numbers them.
TRUE, FALSE, BYTE, SHORT, INTEGER, LONG, BYTES, STRING, TIMESTAMP, UUID = range(10)
_FIXED = {BYTE: ">b", SHORT: ">h", INTEGER: ">i", LONG: ">q", TIMESTAMP: ">q"}

HeaderValue = bool | int | bytes | str


@dataclass(frozen=True, slots=True)
class Header:
    """One typed header; TIMESTAMP values are milliseconds, UUID values 16 raw bytes."""

    name: str
    type: int
    value: HeaderValue


@dataclass(frozen=True, slots=True)
class Message:
    headers: tuple[Header, ...]
    payload: bytes

    def header(self, name: str) -> HeaderValue | None:
        for header in self.headers:
            if header.name == name:
                return header.value
        return None

    def text_header(self, name: str) -> str:
        value = self.header(name)
        return value if isinstance(value, str) else ""


class FrameError(ProbeError):
    """A malformed frame; ``kind`` names the check that failed (tests pin it)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__("protocol", f"event stream: {message}")
        self.kind = kind


class EventStreamDecoder:
    """Splits a byte stream, fed in arbitrary pieces, into verified messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._total = 0  # length of the message being read, once its prelude is verified

    @property
    def pending(self) -> int:
        """Bytes of an incomplete message still buffered."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += data
        messages = []
        while True:
            if not self._total:
                if len(self._buffer) < PRELUDE:
                    break
                self._total = _check_prelude(bytes(self._buffer[:PRELUDE]))
            if len(self._buffer) < self._total:
                break
            frame = bytes(self._buffer[: self._total])
            del self._buffer[: self._total]
            self._total = 0
            messages.append(_verified(frame))
        return messages


def _check_prelude(prelude: bytes) -> int:
    total, headers_length, crc = struct.unpack(">III", prelude)
    if zlib.crc32(prelude[:8]) != crc:
        raise FrameError("prelude_checksum", "prelude checksum mismatch")
    if total < MINIMUM or total > MAX_TOTAL:
        raise FrameError("length", f"message length {total} is out of range")
    if headers_length > min(MAX_HEADERS, total - MINIMUM):
        raise FrameError("headers_length", f"headers length {headers_length} is invalid")
    return int(total)


def decode_message(frame: bytes) -> Message:
    """One complete frame; raises FrameError naming the first check that fails."""
    if len(frame) < PRELUDE:
        raise FrameError("length", "frame shorter than its prelude")
    total = _check_prelude(frame[:PRELUDE])
    if len(frame) != total:
        raise FrameError("length", f"frame has {len(frame)} bytes, its prelude says {total}")
    return _verified(frame)


def _verified(frame: bytes) -> Message:
    """A frame whose prelude was checked: verify the message CRC, then read it."""
    (crc,) = struct.unpack(">I", frame[-4:])
    if zlib.crc32(frame[:-4]) != crc:
        raise FrameError("message_checksum", "message checksum mismatch")
    headers_length = struct.unpack(">I", frame[4:8])[0]
    headers_end = PRELUDE + headers_length
    return Message(_headers(frame[PRELUDE:headers_end]), frame[headers_end:-4])


def _headers(data: bytes) -> tuple[Header, ...]:
    headers: list[Header] = []
    seen: set[str] = set()
    pos = 0
    try:
        while pos < len(data):
            name_length = data[pos]
            name = data[pos + 1 : pos + 1 + name_length].decode("utf-8")
            pos += 1 + name_length
            kind = data[pos]
            pos += 1
            value, pos = _value(data, pos, kind)
            if name in seen:
                raise FrameError("duplicate_header", f"header {name!r} appears twice")
            seen.add(name)
            headers.append(Header(name, kind, value))
    except (IndexError, struct.error, UnicodeDecodeError):
        raise FrameError("header", "a header runs past the headers section") from None
    if pos != len(data):
        raise FrameError("header", "a header runs past the headers section")
    return tuple(headers)


def _value(data: bytes, pos: int, kind: int) -> tuple[HeaderValue, int]:
    if kind in (TRUE, FALSE):
        return kind == TRUE, pos
    if kind in _FIXED:
        fmt = _FIXED[kind]
        size = struct.calcsize(fmt)
        if pos + size > len(data):
            raise IndexError
        return int(struct.unpack(fmt, data[pos : pos + size])[0]), pos + size
    if kind in (BYTES, STRING):
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        raw = data[pos + 2 : pos + 2 + length]
        if len(raw) != length:
            raise IndexError
        return (raw.decode("utf-8") if kind == STRING else raw), pos + 2 + length
    if kind == UUID:
        raw = data[pos : pos + 16]
        if len(raw) != 16:
            raise IndexError
        return raw, pos + 16
    raise FrameError("header", f"unknown header value type {kind}")


def encode_message(headers: Iterable[Header], payload: bytes = b"") -> bytes:
    """The frame for ``headers`` and ``payload`` (fake servers and round-trip tests)."""
    encoded = b"".join(_encode_header(h) for h in headers)
    total = MINIMUM + len(encoded) + len(payload)
    prelude = struct.pack(">II", total, len(encoded))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + encoded + payload
    return body + struct.pack(">I", zlib.crc32(body))


def string_headers(values: Mapping[str, str]) -> tuple[Header, ...]:
    """String headers in the given order (the form AWS services send)."""
    return tuple(Header(name, STRING, value) for name, value in values.items())


def _encode_header(header: Header) -> bytes:
    name = header.name.encode("utf-8")
    out = bytes([len(name)]) + name + bytes([header.type])
    value = header.value
    if header.type in (TRUE, FALSE):
        return out
    if header.type in _FIXED:
        assert isinstance(value, int)
        return out + struct.pack(_FIXED[header.type], value)
    if header.type in (BYTES, STRING):
        raw = value.encode("utf-8") if isinstance(value, str) else value
        assert isinstance(raw, bytes)
        return out + struct.pack(">H", len(raw)) + raw
    if not isinstance(value, bytes) or len(value) != 16:
        raise ValueError(f"header {header.name!r}: a UUID is 16 bytes")
    return out + value
