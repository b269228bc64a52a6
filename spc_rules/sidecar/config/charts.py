"""Reading one chart of the sidecar's configuration, every problem with its line."""

from __future__ import annotations

import contextlib
import datetime as dt
import math

import yaml

from servicekit.yamlconf import INVALID, Reader, join_path, parse_duration
from spc_rules.sidecar.config.detectors import read_cusum, read_direction, read_ewma, read_paging
from spc_rules.sidecar.config.model import (
    ALL_RULES,
    ESTIMATORS,
    RESERVED_LABELS,
    Baseline,
    ChartConfig,
    ChartDefaults,
    Estimator,
    PinnedBaseline,
    RangeBaseline,
    RollingBaseline,
    default_direction,
)
from spc_rules.sidecar.config.selector import LABEL_NAME, METRIC_NAME, Matcher, parse_selector

_CHART_KEYS = frozenset(
    {
        "name",
        "metric",
        "selector",
        "by",
        "baseline",
        "evaluation",
        "transform",
        "estimator",
        "usl",
        "lsl",
        "rules",
        "ewma",
        "cusum",
        "hold",
        "min_points",
        "refits",
        "direction",
        "paging",
    }
)
_BASELINE_KEYS = frozenset({"window", "start", "end", "center", "sigma"})


def read_chart(
    reader: Reader, node: yaml.Node, path: str, defaults: ChartDefaults
) -> ChartConfig | None:
    keys = reader.mapping(node, path, _CHART_KEYS)
    if keys is None:
        return None
    for required in ("name", "metric"):
        if required not in keys:
            reader.fail(node, join_path(path, required), "required")
    opt = reader.optional
    name = opt(keys, "name", path, reader.string, None)
    metric = opt(keys, "metric", path, lambda n, p: _metric(reader, n, p), None)
    log = opt(keys, "transform", path, lambda n, p: reader.choice(n, p, ("log", "none")), "log")
    is_log = log == "log"
    usl = opt(keys, "usl", path, lambda n, p: _quantity(reader, n, p, is_log), None)
    lsl = opt(keys, "lsl", path, lambda n, p: _quantity(reader, n, p, is_log), None)
    if usl is not None and lsl is not None and usl <= lsl:
        reader.fail(keys["usl"], join_path(path, "usl"), f"must be above lsl ({lsl:g})")
    chart = ChartConfig(
        name=name or "",
        metric=metric or "",
        matchers=opt(keys, "selector", path, lambda n, p: _selector(reader, n, p), ()),
        by=opt(keys, "by", path, lambda n, p: _by(reader, n, p), ()),
        baseline=_baseline(
            reader, keys.get("baseline"), join_path(path, "baseline"), defaults, is_log
        ),
        evaluation=opt(keys, "evaluation", path, reader.duration, defaults.evaluation),
        log=is_log,
        estimator=opt(keys, "estimator", path, lambda n, p: _estimator(reader, n, p), "mr"),
        usl=usl,
        lsl=lsl,
        rules=opt(keys, "rules", path, lambda n, p: _rules(reader, n, p), ALL_RULES),
        ewma=read_ewma(reader, keys.get("ewma"), join_path(path, "ewma")),
        cusum=read_cusum(reader, keys.get("cusum"), join_path(path, "cusum")),
        hold=opt(keys, "hold", path, lambda n, p: reader.duration(n, p, False), defaults.hold),
        min_points=opt(
            keys, "min_points", path, lambda n, p: reader.integer(n, p, 2), defaults.min_points
        ),
        refits=opt(keys, "refits", path, lambda n, p: reader.integer(n, p, 0), 3),
        direction=opt(
            keys,
            "direction",
            path,
            lambda n, p: read_direction(reader, n, p),
            default_direction(metric or ""),
        ),
        paging=read_paging(reader, keys.get("paging"), join_path(path, "paging"), defaults.paging),
    )
    return chart if name and metric else None


def _metric(reader: Reader, node: yaml.Node, path: str) -> str | None:
    value = reader.string(node, path)
    if value is None:
        return None
    if not METRIC_NAME.match(value):
        reader.fail(node, path, f'"{value}" is not a valid metric name')
        return None
    for suffix in ("_sum", "_count", "_bucket"):
        if value.endswith(suffix):
            reader.fail(
                node,
                path,
                f'name the histogram, not its series: "{value.removesuffix(suffix)}" '
                "(the sidecar reads its _sum and _count itself)",
            )
            return None
    return value


def _selector(reader: Reader, node: yaml.Node, path: str) -> tuple[Matcher, ...] | None:
    if isinstance(node, yaml.MappingNode):
        keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
        if any(set("=~!") & set(str(k)) for k in keys):
            reader.fail(node, path, "quote the selector, e.g. selector: '{error_type=\"\"}'")
            return None
        labels = reader.mapping(node, path, keys) or {}
        out = []
        for label, value_node in labels.items():
            value = reader.scalar(value_node, join_path(path, label))
            if value is INVALID:
                continue
            if not LABEL_NAME.match(label):
                reader.fail(value_node, join_path(path, label), "not a valid label name")
            elif label == "__name__":
                reader.fail(value_node, join_path(path, label), "the chart's metric names it")
            else:
                out.append(Matcher(label, "=", "" if value is None else str(value)))
        return tuple(out)
    text = reader.string(node, path)
    if text is None:
        return None
    try:
        return parse_selector(text)
    except ValueError as err:
        reader.fail(node, path, str(err))
        return None


def _by(reader: Reader, node: yaml.Node, path: str) -> tuple[str, ...] | None:
    items = reader.sequence(node, path)
    if items is None:
        return None
    labels: list[str] = []
    for i, item in enumerate(items):
        label = reader.string(item, join_path(path, i))
        if label is None:
            continue
        if not LABEL_NAME.match(label):
            reader.fail(item, join_path(path, i), f'"{label}" is not a valid label name')
        elif label in RESERVED_LABELS:
            reader.fail(item, join_path(path, i), f'"{label}" is a label the sidecar sets itself')
        elif label in labels:
            reader.fail(item, join_path(path, i), f'"{label}" is listed twice')
        else:
            labels.append(label)
    return tuple(labels)


def _estimator(reader: Reader, node: yaml.Node, path: str) -> Estimator | None:
    value = reader.choice(node, path, ESTIMATORS)
    return None if value is None else ESTIMATORS[value]


def _rules(reader: Reader, node: yaml.Node, path: str) -> tuple[int, ...] | None:
    items = reader.sequence(node, path)
    if items is None:
        return None
    rules: set[int] = set()
    for i, item in enumerate(items):
        rule = reader.integer(item, join_path(path, i), 1)
        if rule is not None and rule > len(ALL_RULES):
            reader.fail(item, join_path(path, i), f"Nelson rules are 1 to 8, got {rule}")
        elif rule is not None:
            rules.add(rule)
    return tuple(sorted(rules))


def _quantity(reader: Reader, node: yaml.Node, path: str, positive: bool) -> float | None:
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


def _baseline(
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
    center = _quantity(reader, keys["center"], join_path(path, "center"), log)
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
    return _quantity(reader, node, path, True)


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
