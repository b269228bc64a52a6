"""Reading a backtest CSV: one probe a row (docs/backtest.md, "The CSV").

Columns: ``timestamp`` (Unix seconds or RFC 3339 with a zone), ``metric`` (what a chart's
``metric`` selects), ``value`` (the observation; empty for a failed probe), ``error`` (empty,
or the failure reason: dns, connect, timeout, server_error ...; optional), and any other
column is a label. Rows need not be sorted. A problem is one line naming the file, the line
and the column; the whole file is rejected.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from servicekit.errors import ConfigError
from spc_rules.sidecar.config.selector import LABEL_NAME, METRIC_NAME

REQUIRED = ("timestamp", "metric", "value")
ERROR = "error"
# Labels the counters carry themselves: the failure reason, and Prometheus' own.
RESERVED = frozenset({"__name__", "le"})

LabelSet = tuple[tuple[str, str], ...]  # sorted (name, value), empty values left out


class InputError(ConfigError):
    """The input history cannot be read; the message is one line naming where."""


@dataclass(frozen=True)
class ProbeRows:
    """The rows of one metric, label set and failure reason ("" for a success)."""

    metric: str
    labels: LabelSet
    error: str
    stamps_ms: list[int]
    values: list[float]  # NaN for failed probes


@dataclass(frozen=True)
class Probes:
    groups: tuple[ProbeRows, ...]
    label_names: tuple[str, ...]  # the label columns, in file order
    rows: int


def read_csv(path: str | Path, reason_label: str = "error_type") -> Probes:
    """Every row of the file, grouped; InputError names the first problem."""
    name = str(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return _read(csv.reader(handle), name, reason_label)
    except OSError as err:
        raise InputError(f"{name}: cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text") from None
    except csv.Error as err:
        raise InputError(f"{name}: not CSV: {err}") from None


class _Reader(Protocol):
    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


def _read(reader: _Reader, name: str, reason_label: str) -> Probes:
    header = next(reader, None)
    if header is None:
        raise InputError(f"{name}:1: empty file: expected a header row ({_expected()})")
    columns = [c.strip() for c in header]
    _check_header(columns, name, reason_label)
    at = {c: i for i, c in enumerate(columns)}
    labels = [(i, c) for i, c in enumerate(columns) if c not in (*REQUIRED, ERROR)]
    error_at = at.get(ERROR)
    grouped: dict[tuple[str, LabelSet, str], tuple[list[int], list[float]]] = defaultdict(
        lambda: ([], [])
    )
    rows = 0
    for line, row in _numbered(reader):
        if not any(field.strip() for field in row):
            continue
        if len(row) != len(columns):
            raise InputError(f"{name}:{line}: expected {len(columns)} fields, found {len(row)}")
        rows += 1
        stamp = _timestamp(row[at["timestamp"]], name, line)
        metric = row[at["metric"]].strip()
        if not METRIC_NAME.match(metric):
            raise InputError(f'{name}:{line}: column metric: "{metric}" is not a metric name')
        error = row[error_at].strip() if error_at is not None else ""
        value = _value(row[at["value"]], bool(error), name, line)
        key = tuple(sorted((c, row[i].strip()) for i, c in labels if row[i].strip()))
        stamps, values = grouped[(metric, key, error)]
        stamps.append(stamp)
        values.append(value)
    if not rows:
        raise InputError(f"{name}:2: no rows after the header")
    groups = tuple(ProbeRows(m, k, e, s, v) for (m, k, e), (s, v) in sorted(grouped.items()))
    return Probes(groups, tuple(c for _, c in labels), rows)


def _numbered(reader: _Reader) -> Iterator[tuple[int, list[str]]]:
    """Rows with the file line each starts on (a quoted field may span lines)."""
    end = reader.line_num
    for row in reader:
        start, end = end + 1, reader.line_num
        yield start, row


def _expected() -> str:
    return "timestamp, metric, value, optional error, then label columns"


def _check_header(columns: list[str], name: str, reason_label: str) -> None:
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise InputError(
            f"{name}:1: missing column{'s' * (len(missing) > 1)} {', '.join(missing)} "
            f"(expected {_expected()})"
        )
    seen: set[str] = set()
    for index, column in enumerate(columns, start=1):
        if column in seen:
            raise InputError(f'{name}:1: column {index}: "{column}" appears twice')
        seen.add(column)
        if column in (*REQUIRED, ERROR):
            continue
        if not LABEL_NAME.match(column) or column in RESERVED or column.startswith("__"):
            raise InputError(f'{name}:1: column {index}: "{column}" is not a usable label name')
        if column == reason_label:
            raise InputError(
                f'{name}:1: column {index}: "{column}" is the failure reason label: put '
                "failure reasons in the error column"
            )


def _timestamp(text: str, name: str, line: int) -> int:
    """Unix milliseconds (what Prometheus stores) of Unix seconds or RFC 3339."""
    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            stamp = dt.datetime.fromisoformat(value)
        except ValueError:
            stamp = None
        if stamp is None or stamp.tzinfo is None:
            raise InputError(
                f'{name}:{line}: column timestamp: "{value}" is not a time (Unix seconds, or '
                "RFC 3339 with a zone such as 2026-05-01T10:00:00Z)"
            ) from None
        seconds = stamp.timestamp()
    if not math.isfinite(seconds) or seconds <= 0:
        raise InputError(f'{name}:{line}: column timestamp: "{value}" is not a time after 1970')
    return round(seconds * 1000)


def _value(text: str, failed: bool, name: str, line: int) -> float:
    value = text.strip()
    if failed:  # a failed probe counts as a trial; an observation it may carry is not judged
        return math.nan
    if not value:
        raise InputError(
            f"{name}:{line}: column value: empty, and no error (a failed probe names its "
            "failure reason in the error column)"
        )
    try:
        number = float(value)
    except ValueError:
        raise InputError(f'{name}:{line}: column value: "{value}" is not a number') from None
    if not math.isfinite(number) or number < 0:
        raise InputError(
            f'{name}:{line}: column value: "{value}" is not a finite number >= 0 (durations, '
            "token counts and rates are)"
        )
    return number
