"""Reading a chart's ``baseline``: a rolling window, a fixed range, or pinned limits; and the
quantities (numbers or durations) that spec limits and pinned centers are written in."""

from __future__ import annotations

import contextlib
import datetime as dt
import math

import yaml

from servicekit.yamlconf import INVALID, Reader, join_path, parse_duration
from spc_rules.sidecar.config.model import (
    Baseline,
    ChartDefaults,
    PinnedBaseline,
    RangeBaseline,
    RollingBaseline,
)

_BASELINE_KEYS = frozenset({"window", "start", "end", "center", "sigma"})


def read_quantity(reader: Reader, node: yaml.Node, path: str, positive: bool) -> float | None:
    """A number, or a duration such as "2s" (read as seconds)."""
    value = reader.scalar(node, path)
    if value is INVALID:
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = parse_duration(value)
        except ValueError:
            number = None
    if number is None:
        reader.fail(node, path, f"expected a number or a duration such as 2s, got {value!r}")
        return None
    if positive and number <= 0:
        reader.fail(node, path, f"must be positive with transform log, got {number:g}")
        return None
    return number


def read_baseline(
    reader: Reader, node: yaml.Node | None, path: str, defaults: ChartDefaults, log: bool
) -> Baseline:
    fallback = RollingBaseline(defaults.baseline)
    if node is None:
        return fallback
    if isinstance(node, yaml.ScalarNode):
        window = reader.duration(node, path)
        return fallback if window is None else RollingBaseline(window)
    keys = reader.mapping(node, path, _BASELINE_KEYS)
    if keys is None:
        return fallback
    forms = [f for f in (("window",), ("start", "end"), ("center", "sigma")) if set(f) & set(keys)]
    if len(forms) != 1 or not set(forms[0]) <= set(keys) or len(keys) != len(forms[0]):
        reader.fail(node, path, "give either window, or start and end, or center and sigma")
        return fallback
    if "window" in keys:
        window = reader.duration(keys["window"], join_path(path, "window"))
        return fallback if window is None else RollingBaseline(window)
    if "start" in keys:
        start = _time(reader, keys["start"], join_path(path, "start"))
        end = _time(reader, keys["end"], join_path(path, "end"))
        if start is None or end is None:
            return fallback
        if end <= start:
            reader.fail(keys["end"], join_path(path, "end"), "must be after start")
            return fallback
        return RangeBaseline(start, end)
    center = read_quantity(reader, keys["center"], join_path(path, "center"), log)
    sigma = _sigma(reader, keys["sigma"], join_path(path, "sigma"), log)
    if center is None or sigma is None:
        return fallback
    return PinnedBaseline(center, sigma)


def _sigma(reader: Reader, node: yaml.Node, path: str, log: bool) -> float | None:
    if log:
        value = reader.number(node, path)
        if value is None:
            return None
        if value <= 0:
            reader.fail(node, path, "must be positive (the standard deviation of ln x)")
            return None
        return value
    return read_quantity(reader, node, path, True)


def _time(reader: Reader, node: yaml.Node, path: str) -> float | None:
    """A YAML timestamp or date, an RFC 3339 string, or unix seconds; a naive time is UTC."""
    value = reader.scalar(node, path)
    if value is INVALID:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.timestamp()
    reader.fail(node, path, f"expected a time such as 2024-05-01T00:00:00Z, got {value!r}")
    return None
