"""servicekit/bodies.py: a peer's body read within a limit that holds after decompression."""

from __future__ import annotations

import gzip
import os

import pytest

from servicekit.bodies import BodyError, BoundedBody


def fed(encoding: str | None, data: bytes, limit: int, piece: int = 4096) -> BoundedBody:
    reader = BoundedBody(encoding, limit)
    for at in range(0, len(data), piece):
        reader.feed(data[at : at + piece])
    return reader


def test_identity_and_gzip_in_any_pieces_and_several_gzip_members() -> None:
    data = os.urandom(5000) * 20
    assert fed(None, data, 1 << 20).finish() == data
    two = gzip.compress(data) + gzip.compress(b"and more")  # RFC 1952: members in a row
    for piece in (1, 7, 4096, len(two)):
        assert fed("gzip", two, 1 << 20, piece).finish() == data + b"and more"


def test_a_gzip_bomb_is_stopped_at_the_limit_not_after_it_unpacked() -> None:
    bomb = gzip.compress(b"\0" * (64 << 20), 9)  # 64 MiB in about 64 KiB
    reader = BoundedBody("gzip", 1 << 20)
    with pytest.raises(BodyError, match=f"larger than {1 << 20} bytes"):
        reader.feed(bomb)  # one raw chunk: the whole bomb
    assert len(reader.data) <= (1 << 20) + 1  # never more than the limit decoded


@pytest.mark.parametrize(
    ("encoding", "data", "problem"),
    [
        ("gzip, gzip", b"", "'gzip, gzip' is not identity or gzip"),  # a bomb inside a bomb
        ("br", b"", "'br' is not identity or gzip"),
        ("gzip", b"not gzip at all", "not valid gzip"),
        ("gzip", gzip.compress(b"x" * 1000, mtime=0)[:20], "gzip stream cut short"),
    ],
    ids=["layered", "brotli", "corrupt", "cut"],  # the same on every xdist worker
)
def test_what_it_does_not_take_is_named(encoding: str, data: bytes, problem: str) -> None:
    with pytest.raises(BodyError, match=problem):
        fed(encoding, data, 1 << 20).finish()


def test_an_empty_body_marked_gzip_is_empty() -> None:
    # A 204, or an error without text, with the header a proxy adds anyway: httpx reads it
    # as empty, and so does this (a 5xx stays a server error, not an unreadable answer).
    assert BoundedBody("gzip", 1 << 20).finish() == b""
    reader = BoundedBody("gzip", 1 << 20)
    reader.feed(b"")
    assert reader.finish() == b""
