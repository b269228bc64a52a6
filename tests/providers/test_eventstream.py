"""The event stream codec against the aws-sdk-go and botocore vectors (transcripts dir)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from exporter.providers.wire.eventstream import (
    EventStreamDecoder,
    FrameError,
    Header,
    Message,
    decode_message,
    encode_message,
)
from tests.providers.support import TRANSCRIPTS, cut_points, one_byte_pieces, splits

VECTORS = TRANSCRIPTS / "bedrock_eventstream"
POSITIVE = sorted(p for p in VECTORS.glob("*_positive_*.hex"))
NEGATIVE = sorted(p for p in VECTORS.glob("*_negative_*.hex"))
SNAPSHOTS = sorted(VECTORS.glob("awssdkjsv3_conversestream_snapshot_*.hex"))


def frame(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


def meta(path: Path) -> dict[str, Any]:
    value = json.loads(path.with_suffix(".json").read_text())
    assert isinstance(value, dict)
    return value


def expected_header(entry: dict[str, Any]) -> Header:
    value = entry["value"]
    if isinstance(value, dict):  # the sidecars spell binary values out
        if "base64" in value:
            value = base64.b64decode(value["base64"])
        elif "timestamp_ms" in value:
            value = value["timestamp_ms"]
        else:
            value = bytes.fromhex(value["uuid_hex"])
    return Header(entry["name"], entry["type"], value)


def decode_pieces(pieces: list[bytes]) -> list[Message]:
    decoder = EventStreamDecoder()
    messages = [m for piece in pieces for m in decoder.feed(piece)]
    assert decoder.pending == 0
    return messages


def test_every_vector_file_is_covered() -> None:
    assert len(POSITIVE) == 14 and len(NEGATIVE) == 10 and len(SNAPSHOTS) == 5


@pytest.mark.parametrize("path", POSITIVE, ids=lambda p: p.stem)
def test_positive_vector_decodes_to_its_expected_headers_and_payload(path: Path) -> None:
    decoded = meta(path)["independent_decode"]
    body = frame(path)
    for pieces in ([body], one_byte_pieces(body)):
        (message,) = decode_pieces(pieces)
        assert message.headers == tuple(expected_header(h) for h in decoded["headers"])
        assert message.payload == decoded["payload_utf8"].encode()
    # Encoding the decoded message gives the vector's bytes back, CRCs included.
    assert encode_message(message.headers, message.payload) == body


@pytest.mark.parametrize(
    "path", [p for p in POSITIVE if p.name.startswith("awssdkgo")], ids=lambda p: p.stem
)
def test_aws_sdk_go_vectors_match_the_sdks_own_decoded_files(path: Path) -> None:
    source = meta(path)["expected_decoding_from_source"]
    (message,) = decode_pieces([frame(path)])
    assert message.payload == base64.b64decode(source["payload"])
    for header, want in zip(message.headers, source["headers"], strict=True):
        value = want["value"]
        if want["type"] in (6, 7, 9):
            value = base64.b64decode(value)
            value = value.decode() if want["type"] == 7 else value
        assert (header.name, header.type, header.value) == (want["name"], want["type"], value)


def expected_kind(path: Path) -> str:
    data = meta(path)
    source = data.get("expected_decoding_from_source") or data["expected_decoding_from_source_code"]
    if source == "ChecksumMismatch":  # botocore does not say which one; the sidecar's CRCs do
        source = "Prelude" if not data["independent_decode"]["prelude_crc_ok"] else "Message"
    return {
        "Prelude checksum mismatch": "prelude_checksum",
        "Prelude": "prelude_checksum",
        "Message checksum mismatch": "message_checksum",
        "Message": "message_checksum",
        "DuplicateHeader": "duplicate_header",
        "InvalidHeadersLength": "headers_length",
    }[source]


@pytest.mark.parametrize("path", NEGATIVE, ids=lambda p: p.stem)
def test_negative_vector_is_rejected_with_the_right_error(path: Path) -> None:
    body = frame(path)
    for pieces in ([body], one_byte_pieces(body)):
        with pytest.raises(FrameError) as caught:
            decode_pieces(pieces)
        assert caught.value.kind == expected_kind(path)
        assert caught.value.reason == "protocol"


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.stem)
def test_conversestream_snapshot_frames_decode_to_the_printed_view(path: Path) -> None:
    decoded = meta(path)["decoded"]
    message = decode_message(frame(path))
    assert message.headers == tuple(expected_header(h) for h in decoded["headers"])
    assert message.payload.decode() == decoded["payload_utf8"]


@settings(max_examples=60, deadline=None)
@given(cuts=cut_points())
def test_all_vectors_back_to_back_decode_at_any_split(cuts: list[int]) -> None:
    paths = POSITIVE + SNAPSHOTS
    body = b"".join(frame(p) for p in paths)
    assert len(decode_pieces(splits(body, cuts))) == len(paths)


def test_corrupt_frame_after_good_ones_fails_at_that_frame() -> None:
    good = frame(POSITIVE[0])
    decoder = EventStreamDecoder()
    assert len(decoder.feed(good + good)) == 2
    with pytest.raises(FrameError, match="message checksum"):
        decoder.feed(good[:-1] + bytes([good[-1] ^ 1]))
