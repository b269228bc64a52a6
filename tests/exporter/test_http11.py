"""HTTP/1.1 framing of the probe client (RFC 9112), fed whole and in arbitrary pieces."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.transport.http11 import ResponseParser, encode_request
from exporter.transport.netfail import TransportError

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
