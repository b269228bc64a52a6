"""The OpenAI decoder and the shared SSE decoder against the recorded transcripts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from exporter.providers.openai import ChatCompletionsDecoder
from exporter.providers.wire.lines import LineSplitter
from exporter.providers.wire.sse import SseDecoder, SseEvent
from tests.providers.support import (
    check_transcript,
    cut_points,
    one_byte_pieces,
    splits,
    transcripts,
)

OPENAI = transcripts("openai_", ".sse")


def check(path: Path, pieces: list[bytes]) -> None:
    check_transcript(ChatCompletionsDecoder(), path, pieces)


@pytest.mark.parametrize("path", OPENAI, ids=lambda p: p.stem)
def test_openai_transcript_decodes_whole_and_byte_by_byte(path: Path) -> None:
    body = path.read_bytes()
    check(path, [body])
    check(path, one_byte_pieces(body))


@pytest.mark.parametrize("path", OPENAI, ids=lambda p: p.stem)
@settings(max_examples=40, deadline=None)
@given(cuts=cut_points())
def test_openai_transcript_decodes_at_any_split(path: Path, cuts: list[int]) -> None:
    check(path, splits(path.read_bytes(), cuts))


def sse_events(pieces: list[bytes]) -> list[SseEvent]:
    decoder = SseDecoder()
    events = [e for piece in pieces for e in decoder.feed(piece)]
    return events + decoder.close()


def test_sse_crlf_split_between_pieces_ends_one_line_only() -> None:
    events = sse_events([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"])
    assert events == [SseEvent("message", "a\nb")]


def test_sse_leading_bom_is_dropped_even_when_split() -> None:
    events = sse_events([b"\xef\xbb", b"\xbfdata: x\n\n"])
    assert events == [SseEvent("message", "x")]


def test_sse_comments_and_unknown_fields_are_ignored() -> None:
    events = sse_events([b": keep-alive\nid: 7\nretry: 10\nevent: ping\ndata: {}\n\n"])
    assert events == [SseEvent("ping", "{}")]


def test_sse_last_event_without_trailing_newline_still_counts() -> None:
    assert sse_events([b"event: message_stop\ndata: {}"]) == [SseEvent("message_stop", "{}")]


def test_sse_utf8_sequence_split_across_pieces() -> None:
    body = "data: Grüße\n\n".encode()
    cut = body.index(b"\xc3") + 1
    assert sse_events([body[:cut], body[cut:]]) == [SseEvent("message", "Grüße")]


@pytest.mark.parametrize("ending", [b"\n\n", b"\r\n\r\n", b"\r\r"])
def test_a_long_line_in_many_pieces_is_one_event_and_a_split_crlf_one_end(ending: bytes) -> None:
    # An unfinished line is kept as its pieces and joined once its end arrives (joining it
    # again at every piece made a long line cost time quadratic in its length).
    data = b"x" * (1 << 20)
    stream = b"event: big\ndata: " + data + ending + b"data: next" + ending
    decoder = SseDecoder()
    events = []
    for at in range(0, len(stream), 1460):
        events += decoder.feed(stream[at : at + 1460])
    events += decoder.close()
    assert events == [SseEvent("big", data.decode()), SseEvent("message", "next")]


def test_ndjson_lines_in_many_pieces() -> None:
    splitter = LineSplitter()
    stream = b'{"a": "' + b"y" * 100_000 + b'"}\r\n{"b": 1}'
    lines = []
    for at in range(0, len(stream), 999):
        lines += splitter.feed(stream[at : at + 999])
    lines += splitter.close()
    assert lines == ['{"a": "' + "y" * 100_000 + '"}', '{"b": 1}']
