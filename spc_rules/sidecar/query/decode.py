"""Decoding a Prometheus HTTP API answer that holds raw samples (a range vector) into arrays.

A cycle over a thousand series reads millions of ``[timestamp, "value"]`` pairs, and building
one Python object per number (``json.loads``) takes seconds. The fast path walks the
compact layout Prometheus, VictoriaMetrics, Thanos and Mimir write, parses each series' label
object with ``json`` and hands its numbers to numpy's C parser in one call, which gives the
same float64 values as ``float()`` (correctly rounded). Series scraped together (a histogram's
_sum and _count, every series of one target) share their timestamps, so each distinct array
of timestamps is kept once per answer and shared by its series. Anything it does not expect
(whitespace, another key order, a native histogram) sends the whole body through ``json``
instead, which is slower but reads any valid answer; malformed JSON fails there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from servicekit.errors import LLMscopeError
from spc_rules.sidecar.query.blocks import Block
from spc_rules.sidecar.query.memo import Memo

FloatArray = NDArray[np.float64]
Body = bytes | bytearray  # an answer as read: the client reads into a growing bytearray
LabelKey = tuple[tuple[str, str], ...]

_SERIES_HEAD = b'{"metric":'
_VALUES_HEAD = b',"values":['
_RESULT_HEAD = b'"result":['


class DecodeError(LLMscopeError, ValueError):
    """The body is not a well-formed answer with a range vector."""


@dataclass(frozen=True)
class RawSeries:
    """One stored series: its labels and raw samples, timestamps in unix seconds."""

    labels: Mapping[str, str]
    timestamps: FloatArray
    values: FloatArray
    # The sorted label pairs, when known (decoding remembers each label set's).
    key: LabelKey | None = field(default=None, compare=False)
    # The matrix whose row ``row`` holds ``values`` (at ``timestamps``), when the series is
    # held with others scraped together (samplecache); None: on its own.
    block: Block | None = field(default=None, compare=False)
    row: int = field(default=0, compare=False)


def key_of(series: RawSeries) -> LabelKey:
    """The series' label pairs, sorted: one identity per stored series."""
    return series.key if series.key is not None else tuple(sorted(series.labels.items()))


# Label objects already parsed, by their text: parsing each again (json, then sorting its
# pairs for the cache) cost a tenth of a steady cycle at 10,000 series.
_LABELS_SEEN: Memo[bytes, tuple[dict[str, str], LabelKey]] = Memo()


def _labels(text: bytes) -> tuple[dict[str, str], LabelKey]:
    got = _LABELS_SEEN.get(text)
    if got is None:
        labels = json.loads(text)
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise _UnexpectedLayoutError
        got = _LABELS_SEEN.keep(text, (labels, tuple(sorted(labels.items()))))
    return got


class _UnexpectedLayoutError(Exception):
    """The fast path met a layout it does not handle; the slow path decides."""


def decode_matrix(body: Body) -> list[RawSeries]:
    """The series of a successful ``resultType: matrix`` answer."""
    try:
        return _fast(body)
    except _UnexpectedLayoutError:
        return _slow(body)


def _fast(body: Body) -> list[RawSeries]:
    start = body.find(_RESULT_HEAD)
    if start < 0:
        raise _UnexpectedLayoutError
    pos = start + len(_RESULT_HEAD)
    found: list[tuple[bytes, int, int]] = []  # per series: its label object, where its pairs are
    while body.startswith(_SERIES_HEAD, pos):
        # The label object ends where ``,"values":[`` first follows: inside it every value
        # is a string, in which those unescaped quotes cannot occur, and after a key comes a
        # string, not ``[``. ``_labels`` checks the object itself (json).
        labels_at = pos + len(_SERIES_HEAD)
        labels_end = body.find(_VALUES_HEAD, labels_at)
        if labels_end < 0:
            raise _UnexpectedLayoutError
        first = labels_end + len(_VALUES_HEAD)
        last = body.find(b"]]", first)  # value strings never hold brackets
        if body.startswith(b"]", first):
            last = first - 1  # an empty list of values
        elif last < 0:
            raise _UnexpectedLayoutError
        found.append((bytes(body[labels_at:labels_end]), first, last + 1))
        pos = last + 2
        if not body.startswith(b"}", pos):
            raise _UnexpectedLayoutError
        pos += 1
        if body.startswith(b",", pos):
            pos += 1
    if not body.startswith(b"]", pos):
        raise _UnexpectedLayoutError
    # What surrounds the series (status, resultType, warnings, stats) is checked as JSON.
    _envelope(load_json(body[:start] + b'"result":[]' + body[pos + 1 :]))
    pairs = _pairs(body, [(a, b) for _, a, b in found])
    out = []
    for (text, _, _), (ts, values) in zip(found, pairs, strict=True):
        try:
            labels, key = _labels(text)
        except (ValueError, RecursionError):  # bad escapes, bad UTF-8: the slow path names it
            raise _UnexpectedLayoutError from None
        out.append(RawSeries(labels, ts, values, key))
    return out


# Series whose numbers one C call parses: few calls, and a bounded copy of the text to parse
# (a whole first-cycle answer at once held two more copies of itself).
PARSED_TOGETHER = 2048


def _pairs(body: Body, regions: list[tuple[int, int]]) -> list[tuple[FloatArray, FloatArray]]:
    """Each region ``[t,"v"],[t,"v"]`` of ``body`` as timestamps and values; NaN and
    +Inf/-Inf are read as such. The numbers of many regions are parsed in one C call, and
    each distinct array of timestamps is kept once (read-only), shared by its series."""
    seen: dict[bytes, FloatArray] = {}
    out = []
    for first in range(0, len(regions), PARSED_TOGETHER):
        out += _parsed(body, regions[first : first + PARSED_TOGETHER], seen)
    return out


def _parsed(
    body: Body, regions: list[tuple[int, int]], seen: dict[bytes, FloatArray]
) -> list[tuple[FloatArray, FloatArray]]:
    counts = []
    for a, b in regions:
        pairs = body.count(b"],[", a, b) + 1 if b > a else 0
        # Two numbers a pair, no more: a pair of three would shift every later number.
        if pairs and body.count(b",", a, b) != 2 * pairs - 1:
            raise _UnexpectedLayoutError
        counts.append(pairs)
    text = b",".join(body[a:b] for a, b in regions if b > a).translate(None, b'[]"')
    try:  # one C parse of the regions' numbers, interleaved
        numbers = np.fromstring(text, dtype=np.float64, sep=",") if text else np.empty(0)
    except ValueError:
        raise _UnexpectedLayoutError from None
    if numbers.size != 2 * sum(counts):  # a number that did not parse
        raise _UnexpectedLayoutError
    stamps, values = numbers[0::2], numbers[1::2].copy()
    out = []
    at = 0
    for n in counts:
        ts = stamps[at : at + n]
        known = seen.get(raw := ts.tobytes())
        if known is None:
            known = seen[raw] = np.frombuffer(raw)  # read-only, contiguous
        out.append((known, values[at : at + n]))
        at += n
    return out


def _slow(body: Body) -> list[RawSeries]:
    data = _envelope(load_json(body))
    result = data.get("result")
    if not isinstance(result, list):
        raise DecodeError("data.result is not a list")
    return [_series(item) for item in result]


def load_json(body: Body) -> object:
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DecodeError(f"malformed JSON: {err}") from None
    except RecursionError:  # "[[[[...": the parser recursed past Python's limit
        raise DecodeError("malformed JSON: nested too deeply") from None


def _envelope(doc: object) -> dict[str, object]:
    if not isinstance(doc, dict) or doc.get("status") != "success":
        raise DecodeError("status is not success")
    data = doc.get("data")
    if not isinstance(data, dict):
        raise DecodeError("no data object")
    if data.get("resultType") != "matrix":
        raise DecodeError(f"expected resultType matrix, got {data.get('resultType')!r}")
    return data


def _series(item: object) -> RawSeries:
    if not isinstance(item, dict):
        raise DecodeError("a result entry is not an object")
    labels = item.get("metric")
    values = item.get("values", [])
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise DecodeError("a result entry has no metric labels")
    if not isinstance(values, list):
        raise DecodeError("values is not a list")
    try:
        pairs = np.array([(float(t), float(v)) for t, v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise DecodeError("a sample is not a [timestamp, value] pair of numbers") from None
    pairs = pairs.reshape(-1, 2)
    return RawSeries(labels, pairs[:, 0].copy(), pairs[:, 1].copy())
