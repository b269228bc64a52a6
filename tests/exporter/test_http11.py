"""HTTP/1.1 framing of the probe client (RFC 9112), fed whole and in arbitrary pieces."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.transport import http11
from exporter.transport.http11 import MAX_HEAD, ResponseParser, encode_request
from exporter.transport.netfail import TransportError
from servicekit.errors import LLMscopeError

CHUNKED = (
    b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
    b"X-Note: a\r\nx-note: b\r\n\r\n"
    b"5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer-Field: t\r\n\r\n"
)
LENGTH = b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"
UNTIL_CLOSE = b"HTTP/1.0 200 OK\nContent-Type: application/x-ndjson\n\n{}\n{}\n"


def parse(raw: bytes, cuts: list[int], *, eof: bool = False) -> tuple[ResponseParser, bytes]:
    parser, body, start = ResponseParser("POST"), b"", 0
    for cut in [*sorted(c % (len(raw) + 1) for c in cuts), len(raw)]:
        body += parser.feed(raw[start:cut])
        start = cut
    if eof:
        body += parser.eof()
    return parser, body


@given(st.lists(st.integers(min_value=0, max_value=1 << 12), max_size=30))
def test_chunked_body_with_extensions_trailers_and_an_interim_head(cuts: list[int]) -> None:
    parser, body = parse(CHUNKED, cuts)
    assert body == b"hello 0123456789"
    assert parser.done and parser.head is not None
    assert parser.head.status == 200
    assert parser.head.headers["x-note"] == "a, b"
    assert parser.head.keep_alive


@given(st.lists(st.integers(min_value=0, max_value=1 << 12), max_size=10))
def test_content_length_and_close_delimited_bodies(cuts: list[int]) -> None:
    parser, body = parse(LENGTH, cuts)
    assert (body, parser.done, parser.head and parser.head.status) == (b"not found", True, 404)
    parser, body = parse(UNTIL_CLOSE, cuts, eof=True)
    assert body == b"{}\n{}\n" and parser.done
    assert parser.head is not None and not parser.head.keep_alive  # HTTP/1.0, read to close


@pytest.mark.parametrize(
    ("raw", "failure", "text"),
    [
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "protocol", "chunk size"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
            "protocol",
            "longer",
        ),
        (b"SSH-2.0-OpenSSH\r\n\r\n", "protocol", "status line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n", "protocol", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n", "protocol", "header line"),
        # Latin-1 "\u00b2" is a digit to str.isdigit but not to int(): once an uncaught
        # ValueError (reason internal); so is a length past int()'s 4,300 digits.
        (b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n", "protocol", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", "protocol", "Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: \xb2, \xb2\r\n\r\n", "protocol", "Length"),
        # Codings other than chunked would hand the decoder coded bytes (once a UTF-8 error).
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b", "protocol", "gzip"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "protocol", "gzip"),
        # A fold with no field before it continues nothing (RFC 9112 section 2.2).
        (b"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "protocol", "header line"),
        # Two media types: which one the body has would be a guess.
        (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Content-Type: text/html\r\nContent-Length: 0\r\n\r\n",
            "protocol",
            "two different Content-Type",
        ),
    ],
)
def test_malformed_responses_are_protocol_errors(raw: bytes, failure: str, text: str) -> None:
    with pytest.raises(TransportError) as info:
        ResponseParser("GET").feed(raw)
    assert info.value.failure == failure and text in str(info.value)


def test_a_body_cut_short_is_a_closed_connection() -> None:
    parser = ResponseParser("POST")
    parser.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
    with pytest.raises(TransportError) as info:
        parser.eof()
    assert info.value.failure == "closed"


def test_connection_close_and_head_requests() -> None:
    parser = ResponseParser("POST")
    parser.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert parser.done and parser.head is not None and not parser.head.keep_alive
    head = ResponseParser("HEAD")
    head.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n")
    assert head.done


def test_request_encoding_refuses_line_breaks_without_echoing_the_value() -> None:
    data = encode_request("POST", "/v1/x?a=1", [("Host", "h"), ("Content-Length", "2")], b"{}")
    assert data == b"POST /v1/x?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}"
    with pytest.raises(TransportError) as info:
        encode_request("POST", "/", [("Authorization", "Bearer sk-secret\r\nX: y")], b"")
    assert info.value.failure == "request" and "sk-secret" not in str(info.value)


def test_folded_header_lines_are_unfolded_with_a_space() -> None:
    """RFC 9112 section 5.2: a user agent replaces each obs-fold with a space."""
    parser, body = parse(
        b"HTTP/1.1 200 OK\r\nX-Note: first\r\n  second\r\n\tthird\r\nContent-Length: 2\r\n\r\nok",
        [],
    )
    assert parser.head is not None and body == b"ok"
    assert parser.head.headers["x-note"] == "first second third"


def test_a_repeated_identical_content_type_is_one_value() -> None:
    parser, _ = parse(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        b"Content-Type: text/event-stream\r\nContent-Length: 0\r\n\r\n",
        [],
    )
    assert parser.head is not None
    assert parser.head.headers["content-type"] == "text/event-stream"


def test_a_refused_connect_has_a_body_and_a_tunnels_2xx_has_none() -> None:
    """A proxy's 407 page in the same write as its head was once "bytes after the end"."""
    page = b"<html><body>Proxy Authentication Required</body></html>"
    refusal = (
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Type: text/html\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(page), page)
    )
    parser = ResponseParser("CONNECT")
    assert parser.feed(refusal) == page
    assert parser.head is not None and parser.head.status == 407 and parser.done
    tunnel = ResponseParser("CONNECT")
    assert tunnel.feed(b"HTTP/1.1 200 Connection established\r\nContent-Length: 9\r\n\r\n") == b""
    assert tunnel.done


HEAD_START = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"


def big_head(size: int) -> bytes:
    """A response whose head (up to the blank line) is ``size`` bytes long."""
    field = b"X-Pad: " + b"p" * (size - len(HEAD_START) - len(b"X-Pad: "))
    return HEAD_START + field + b"\r\n\r\n"


@given(st.lists(st.integers(min_value=1, max_value=MAX_HEAD + 10), max_size=8))
def test_the_head_limit_does_not_depend_on_how_the_bytes_arrive(cuts: list[int]) -> None:
    fits, too_big = big_head(MAX_HEAD), big_head(MAX_HEAD + 1)
    parser, _ = parse(fits, cuts)
    assert parser.done and parser.head is not None
    with pytest.raises(TransportError) as info:
        parse(too_big, cuts)
    assert "head longer" in str(info.value)


class CountingSearch:
    """``_HEAD_END`` that counts the bytes each search may look at."""

    def __init__(self) -> None:
        self.looked_at = 0

    def search(self, data: bytearray, pos: int = 0) -> re.Match[bytes] | None:
        self.looked_at += len(data) - pos
        return re.compile(rb"\r?\n\r?\n").search(data, pos)


def test_the_head_is_scanned_once_however_small_the_pieces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 60 KB head in 10-byte pieces once cost 6,000 scans of the whole buffer (1.7 s)."""
    counter = CountingSearch()
    monkeypatch.setattr(http11, "_HEAD_END", counter)
    raw = big_head(60_000)
    parser, _ = parse(raw, list(range(10, len(raw), 10)))
    assert parser.done
    # Each piece is looked at once, plus three bytes of overlap per piece; a rescan of the
    # whole buffer per piece would be about 6,000 / 2 times the head.
    assert counter.looked_at <= len(raw) + 3 * (len(raw) // 10 + 1)


def test_transport_errors_are_a_leaf_of_the_one_error_tree() -> None:
    err = TransportError("protocol", "bad status line")
    assert isinstance(err, LLMscopeError) and err.failure == "protocol"


def test_a_long_trailer_line_in_small_pieces_is_parsed_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The chunk framing is parsed when a line ends, not again for every piece of it."""
    calls = [0]
    original = ResponseParser._chunks

    def counting(self: ResponseParser, data: bytes) -> bytes:
        calls[0] += 1
        return original(self, data)

    monkeypatch.setattr(ResponseParser, "_chunks", counting)
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"
        + b"X-Trailer: "
        + b"t" * 60_000
        + b"\r\n\r\n"
    )
    parser, body = parse(raw, list(range(10, len(raw), 10)))
    assert parser.done and body == b"ok"
    assert calls[0] < 20  # once per line end, not once per each of the 6,000 pieces
