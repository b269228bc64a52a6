"""HTTP/1.1 on the client side, as RFC 9112 frames it: one request out, one response in.

No I/O here: ``encode_request`` gives the bytes of a request and ``ResponseParser`` takes the
bytes of a response in any pieces and gives back its head and body pieces. A streamed
chunk costs a slice or two of a buffer (h11, measured in its place, cost 4 to 5 us per
chunk and 60 us per request on the benchmark VM; docs/benchmarks.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from exporter.transport.netfail import TransportError

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(rb"[^\x00-\x08\x0a-\x1f\x7f]*")  # no CR, LF, NUL or controls
_TARGET = re.compile(rb"[\x21-\x7e]+")
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: [^\r\n]*)?")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")  # ASCII digits only: "\u00b2".isdigit() is True
MAX_HEAD = 64 * 1024  # a response head larger than this is not a provider's
# Fields that hold one value: a repeat of the same value is dropped, a different one refused.
_SINGLETONS = frozenset({"content-type", "location"})


def encode_request(
    method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
) -> bytes:
    """The request's bytes; TransportError('request') names no value (it may be a key)."""
    lines = [f"{method} {target} HTTP/1.1".encode("ascii", "replace")]
    if not _TOKEN.fullmatch(lines[0].split(b" ")[0]) or not _TARGET.fullmatch(target.encode()):
        raise TransportError("request", "the method or the request target is malformed")
    for name, value in headers:
        raw_name, raw_value = name.encode("latin-1", "replace"), value.encode("latin-1", "replace")
        if not _TOKEN.fullmatch(raw_name) or not _FIELD_VALUE.fullmatch(raw_value):
            raise TransportError(
                "request", f"the value of the {name!r} header has a line break or control character"
            )
        lines.append(raw_name + b": " + raw_value.strip(b" \t"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


@dataclass(frozen=True, slots=True)
class Head:
    status: int
    headers: dict[str, str]  # names in lower case; repeated fields joined by ", "
    keep_alive: bool  # the connection may carry the next request after this body


class ResponseParser:
    """One response to a request of ``method``; ``feed`` returns the body bytes it completed.

    ``head`` is set once the final (non-1xx) head arrived; ``done`` once the body ended as
    its framing says. Malformed input raises TransportError('protocol'), a connection that
    ends early TransportError('closed').
    """

    def __init__(self, method: str, *, may_keep: bool = True) -> None:
        self._method = method
        self._may_keep = may_keep
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer already searched for the end of the head
        self.head: Head | None = None
        self.done = False
        self._mode = ""  # "length", "chunked" or "close"
        self._remaining = 0  # bytes left of the body (length) or of the chunk (chunked)
        self._chunk_state = "size"  # size, data, crlf, trailer

    def feed(self, data: bytes) -> bytes:
        buffer = self._buffer
        if self.head is not None and not buffer:
            if self._mode == "close":
                return data
            if self._mode == "length" or (self._chunk_state == "data" and self._remaining):
                return self._fast(data)
        buffer += data
        if self.head is None:
            if not self._parse_head():
                return b""
        elif self._mode == "chunked" and len(buffer) > len(data) and b"\n" not in data:
            # A framing line (chunk size, trailer field) still incomplete: nothing to parse
            # until its line feed, so a long line in small pieces is not parsed again each time.
            if len(buffer) > MAX_HEAD:
                raise TransportError("protocol", "chunk framing line too long")
            return b""
        return self._body()

    def eof(self) -> bytes:
        """The connection ended: the rest of a close-delimited body, else an error."""
        if self.head is not None and self._mode == "close":
            self.done = True
            rest, self._buffer = bytes(self._buffer), bytearray()
            return rest
        if self.done:
            return b""
        where = "mid-body" if self.head is not None else "before the response head"
        raise TransportError("closed", f"the server closed the connection {where}")

    # -- head --------------------------------------------------------------------------

    def _parse_head(self) -> bool:
        """Each byte is searched once: the search goes on where the last piece ended (less
        three bytes, for an end split between pieces), and the size limit holds however
        the head arrives."""
        while self.head is None:
            end = _HEAD_END.search(self._buffer, max(self._scanned - 3, 0))
            # A head that ends past the limit, or cannot end before it (the last three bytes
            # may still begin the blank line), is refused whatever the pieces were.
            if end is None or end.start() > MAX_HEAD:
                if end is not None or len(self._buffer) > MAX_HEAD + 3:
                    raise TransportError("protocol", f"response head longer than {MAX_HEAD} bytes")
                self._scanned = len(self._buffer)
                return False
            raw = bytes(self._buffer[: end.start()])
            del self._buffer[: end.end()]
            self._scanned = 0
            head = self._head(raw)
            if head is not None:
                self.head = head
        return True

    def _head(self, raw: bytes) -> Head | None:
        status_line, *field_lines = raw.replace(b"\r\n", b"\n").split(b"\n")
        match = _STATUS_LINE.fullmatch(status_line)
        if match is None:
            raise TransportError("protocol", f"bad status line {status_line[:60]!r}")
        status = int(match[2])
        if status == 101:
            raise TransportError("protocol", "the server switched protocols unasked")
        if 100 <= status < 200:
            return None  # an interim response (100 Continue, 103 Early Hints): skip it
        headers = _fields(field_lines)
        keep = (
            self._may_keep and match[1] == b"1" and not _has_token(headers, "connection", "close")
        )
        self._framing(status, headers)
        return Head(status, headers, keep and self._mode != "close")

    def _framing(self, status: int, headers: dict[str, str]) -> None:
        """RFC 9112 section 6.3: how the body's length is known. A refused CONNECT (not
        2xx) has a body like any other answer; only a tunnel's 2xx has none."""
        tunnel = self._method == "CONNECT" and 200 <= status < 300
        if tunnel or self._method == "HEAD" or status in (204, 304):
            self._mode, self._remaining = "length", 0
        elif "transfer-encoding" in headers:
            codings = [c.strip().lower() for c in headers["transfer-encoding"].split(",")]
            codings = [c for c in codings if c]
            if codings != ["chunked"]:
                # Any other coding (gzip, or gzip under chunked) would need decoding, and
                # the probe asked for none: say so rather than hand over coded bytes.
                raise TransportError(
                    "protocol",
                    f"unsupported transfer coding {headers['transfer-encoding']!r} "
                    "(the probe client reads chunked only)",
                )
            self._mode = "chunked"
        elif "content-length" in headers:
            values = {v.strip() for v in headers["content-length"].split(",")}
            value = values.pop() if len(values) == 1 else ""
            if not _CONTENT_LENGTH.fullmatch(value):
                raise TransportError(
                    "protocol", f"bad Content-Length {headers['content-length'][:20]!r}"
                )
            self._mode, self._remaining = "length", int(value)
        else:
            self._mode = "close"
        if self._mode == "length" and self._remaining == 0:
            self.done = True

    # -- body --------------------------------------------------------------------------

    def _fast(self, data: bytes) -> bytes:
        """A piece that falls inside the current chunk or length: returned as it is."""
        if len(data) <= self._remaining:
            self._remaining -= len(data)
            if self._mode == "length" and not self._remaining:
                self.done = True
            elif self._mode == "chunked" and not self._remaining:
                self._chunk_state = "crlf"
            return data
        self._buffer += data
        return self._body()

    def _body(self) -> bytes:
        data = bytes(self._buffer)
        self._buffer.clear()
        if self._mode == "close":
            return data
        if self._mode == "length":
            out = data[: self._remaining]
            self._remaining -= len(out)
            if not self._remaining:
                self.done = True
                if len(data) > len(out):
                    raise TransportError("protocol", "bytes after the end of the body")
            return out
        return self._chunks(data)

    def _chunks(self, data: bytes) -> bytes:
        """Chunked framing over ``data`` by offset: the usual piece (one whole chunk) costs
        two finds and one slice."""
        pos, end_of_data, out = 0, len(data), []
        while not self.done and pos < end_of_data:
            if self._chunk_state == "data":
                take = data[pos : pos + self._remaining]
                out.append(take)
                pos += len(take)
                self._remaining -= len(take)
                if self._remaining:
                    break
                self._chunk_state = "crlf"
                continue
            eol = data.find(b"\n", pos)
            if eol < 0:
                if end_of_data - pos > MAX_HEAD:
                    raise TransportError("protocol", "chunk framing line too long")
                break
            line = data[pos:eol].rstrip(b"\r")
            pos = eol + 1
            if self._chunk_state == "crlf":
                if line:
                    raise TransportError("protocol", "chunk data longer than its size")
                self._chunk_state = "size"
            elif self._chunk_state == "size":
                size = line.split(b";", 1)[0].strip()
                if not size or len(size) > 16 or size.strip(b"0123456789abcdefABCDEF"):
                    raise TransportError("protocol", f"bad chunk size {line[:20]!r}")
                self._remaining = int(size, 16)
                self._chunk_state = "data" if self._remaining else "trailer"
            elif not line:  # the blank line after the trailer fields ends the body
                self.done = True
        if self.done and pos < end_of_data:
            raise TransportError("protocol", "bytes after the end of the body")
        if pos < end_of_data:
            self._buffer += data[pos:]
        return out[0] if len(out) == 1 else b"".join(out)


def _fields(lines: list[bytes]) -> dict[str, str]:
    """Header fields by lower-case name, repeats of a list field joined by ", ".

    A line that starts with a space or tab continues the field before it (obs-fold): RFC
    9112 section 5.2 has a user agent replace each fold with a space, so it is unfolded,
    not refused. Before the first field there is nothing to continue: that is refused.
    """
    headers: dict[str, str] = {}
    key = ""
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if not key:
                raise TransportError("protocol", f"bad header line {line[:60]!r}")
            more = line.strip(b" \t").decode("latin-1")
            headers[key] = f"{headers[key]} {more}".strip()
            continue
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise TransportError("protocol", f"bad header line {line[:60]!r}")
        key, text = name.decode("ascii").lower(), value.strip(b" \t").decode("latin-1")
        if key not in headers:
            headers[key] = text
        elif key not in _SINGLETONS:
            headers[key] = f"{headers[key]}, {text}"
        elif headers[key] != text:
            # Two media types (or two targets): which one the body has is a guess.
            raise TransportError("protocol", f"two different {name.decode()} fields")
    return headers


def _has_token(headers: dict[str, str], name: str, token: str) -> bool:
    return token in (t.strip().lower() for t in headers.get(name, "").split(","))
