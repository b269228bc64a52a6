"""Decoding API answers: the fast path reads exactly what json reads, and bad bodies fail."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from spc_rules.sidecar.query.decode import PARSED_TOGETHER, DecodeError, RawSeries, decode_matrix
from spc_rules.sidecar.query.promapi import pieces

SERIES: list[dict[str, Any]] = [
    {
        "metric": {"__name__": "m_sum", "target": 'a "quoted" {brace} ]] name', "x": "é"},
        "values": [[1700000000, "0.1"], [1700000015.5, "1.0000000000000002"], [1700000030, "NaN"]],
    },
    {"metric": {"__name__": "m_count"}, "values": [[1700000000, "+Inf"], [1700000015.5, "-Inf"]]},
    {"metric": {}, "values": []},
    {"metric": {"__name__": "m_count", "target": "b"}, "values": [[1.5, "1e-05"], [2, "3"]]},
    # The fast path ends a label object at the first ,"values":[ after it: a label named
    # values, and the sequence inside a value (its quotes escaped), must not end it early.
    {"metric": {"values": 'x,"values":[[1,"2"]]}', "y": "\\"}, "values": [[3, "4"]]},
]


def _answer(result: Sequence[object], **extra: object) -> dict[str, object]:
    return {"status": "success", "data": {"resultType": "matrix", "result": result}, **extra}


def _same(a: list[RawSeries], b: list[RawSeries]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert dict(x.labels) == dict(y.labels)
        np.testing.assert_array_equal(x.timestamps, y.timestamps)
        np.testing.assert_array_equal(x.values, y.values)


def test_compact_answer_decodes_to_the_numbers_json_gives() -> None:
    compact = json.dumps(_answer(SERIES), separators=(",", ":"), ensure_ascii=False).encode()
    got = decode_matrix(compact)
    assert [dict(s.labels) for s in got] == [s["metric"] for s in SERIES]
    assert got[0].timestamps.tolist() == [1700000000.0, 1700000015.5, 1700000030.0]
    assert got[0].values[:2].tolist() == [0.1, 1.0000000000000002]
    assert np.isnan(got[0].values[2])
    assert got[1].values.tolist() == [np.inf, -np.inf]
    assert got[2].timestamps.size == 0
    assert got[3].values.tolist() == [1e-05, 3.0]
    assert got[4].values.tolist() == [4.0]


def test_an_answer_of_many_series_is_parsed_in_parts_to_the_same_numbers() -> None:
    rng = np.random.default_rng(4)
    many = [
        {
            "metric": {"__name__": "m_sum", "target": f"t{i}"},
            "values": [[1700000000 + 15 * j, repr(float(v))] for j, v in enumerate(row)],
        }
        for i, row in enumerate(rng.lognormal(0, 1, (2 * PARSED_TOGETHER + 7, 4)))
    ]
    many[PARSED_TOGETHER]["values"] = []  # an empty series right at a part's start
    compact = json.dumps(_answer(many), separators=(",", ":")).encode()
    spaced = json.dumps(_answer(many)).encode()  # through json: the reference
    _same(decode_matrix(compact), decode_matrix(spaced))
    broken = compact.replace(b'"]]}', b'","1"]]}', 1)  # one pair of three, in the first part
    with pytest.raises(DecodeError):
        decode_matrix(broken)


def test_any_other_layout_decodes_the_same_through_json() -> None:
    compact = json.dumps(_answer(SERIES), separators=(",", ":")).encode()
    spaced = json.dumps(_answer(SERIES), indent=2).encode()
    reordered = json.dumps(
        {
            "data": {
                "result": [{"values": s["values"], "metric": s["metric"]} for s in SERIES],
                "resultType": "matrix",
            },
            "status": "success",
        }
    ).encode()
    expected = decode_matrix(compact)
    _same(decode_matrix(spaced), expected)
    _same(decode_matrix(reordered), expected)


def test_fields_around_the_result_are_accepted() -> None:
    body = json.dumps(
        _answer(SERIES[:1], warnings=["partial"], stats={"seriesFetched": "1"}, isPartial=False),
        separators=(",", ":"),
    ).encode()
    assert len(decode_matrix(body)) == 1


def test_series_with_equal_timestamps_each_get_them() -> None:
    stamps = [[1.0, "1"], [2.0, "2"]]
    body = json.dumps(
        _answer(
            [{"metric": {"a": "1"}, "values": stamps}, {"metric": {"a": "2"}, "values": stamps}]
        ),
        separators=(",", ":"),
    ).encode()
    first, second = decode_matrix(body)
    assert first.timestamps.tolist() == second.timestamps.tolist() == [1.0, 2.0]


BAD = [
    ("truncated", b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"val'),
    ("not json", b"<html>502 Bad Gateway</html>"),
    ("error status", b'{"status":"error","errorType":"bad_data","error":"parse error"}'),
    ("instant vector", b'{"status":"success","data":{"resultType":"vector","result":[]}}'),
    ("no data", b'{"status":"success"}'),
    (
        "value not a number",
        b'{"status":"success","data":{"resultType":"matrix","result":'
        b'[{"metric":{},"values":[[1,"abc"]]}]}}',
    ),
    (
        "pair of three",
        b'{"status":"success","data":{"resultType":"matrix","result":'
        b'[{"metric":{},"values":[[1,"2",3]]}]}}',
    ),
    (
        "labels not strings",
        b'{"status":"success","data":{"resultType":"matrix","result":'
        b'[{"metric":{"a":1},"values":[]}]}}',
    ),
    ("trailing garbage", b'{"status":"success","data":{"resultType":"matrix","result":[]}}xx'),
    (
        "not utf-8",
        b'{"status":"success","data":{"resultType":"matrix","result":'
        b'[{"metric":{"a":"\xff"},"values":[]}]}}',
    ),
]


@pytest.mark.parametrize(("case", "body"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_body_is_a_decode_error(case: str, body: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_matrix(body)


@pytest.mark.parametrize(
    ("start", "end", "max_range", "expected"),
    [
        (0.0, 10.0, 100.0, [(10_000, 10_000)]),
        (0.0, 10.0, 4.0, [(10_000, 4_000), (6_000, 4_000), (2_000, 2_000)]),
        (0.5, 1.25, 1.0, [(1_250, 750)]),
        (5.0, 5.0, 1.0, []),
    ],
)
def test_pieces_cover_the_window_newest_first_meeting_exactly(
    start: float, end: float, max_range: float, expected: list[tuple[int, int]]
) -> None:
    got = pieces(start, end, max_range)
    assert got == expected
    for (at, span), (next_at, _) in itertools.pairwise(got):
        assert at - span == next_at  # adjacent, no gap and no overlap
