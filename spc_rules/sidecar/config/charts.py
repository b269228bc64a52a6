"""Reading one chart of the sidecar's configuration, every problem with its line."""

from __future__ import annotations

import yaml

from servicekit.yamlconf import INVALID, Reader, join_path
from spc_rules.sidecar.config.baselines import read_baseline, read_quantity
from spc_rules.sidecar.config.counters import (
    KINDS,
    P_KEYS,
    read_proportion,
    refuse_p_keys,
    refuse_pinned,
)
from spc_rules.sidecar.config.detectors import (
    SIGNAL_KEYS,
    read_direction,
    read_min_effect,
    read_paging,
    read_side,
    read_signals,
)
from spc_rules.sidecar.config.model import (
    ALL_RULES,
    ESTIMATORS,
    RESERVED_LABELS,
    ChartConfig,
    ChartDefaults,
    Estimator,
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
        *SIGNAL_KEYS,
        "side",
        "min_effect",
        "hold",
        "min_points",
        "min_subgroup",
        "refits",
        "direction",
        "paging",
        "kind",
        *P_KEYS,
    }
)


def read_chart(
    reader: Reader, node: yaml.Node, path: str, defaults: ChartDefaults
) -> ChartConfig | None:
    keys = reader.mapping(node, path, _CHART_KEYS)
    if keys is None:
        return None
    opt = reader.optional
    kind = opt(keys, "kind", path, lambda n, p: reader.choice(n, p, KINDS, "kind"), "histogram")
    proportion = None
    if kind == "p":
        proportion = read_proportion(reader, node, keys, path)
    else:
        refuse_p_keys(reader, keys, path)
    for required in ("name", "metric") if kind == "histogram" else ("name",):
        if required not in keys:
            reader.fail(node, join_path(path, required), "required")
    name = opt(keys, "name", path, reader.string, None)
    metric = opt(keys, "metric", path, lambda n, p: _metric(reader, n, p), None)
    if proportion is not None:  # chart_info and the direction read the numerator's name
        metric = proportion.numerator.metric
    log = opt(keys, "transform", path, lambda n, p: reader.choice(n, p, ("log", "none")), "log")
    is_log = log == "log" and kind == "histogram"
    usl = opt(keys, "usl", path, lambda n, p: read_quantity(reader, n, p, is_log), None)
    lsl = opt(keys, "lsl", path, lambda n, p: read_quantity(reader, n, p, is_log), None)
    if usl is not None and lsl is not None and usl <= lsl:
        reader.fail(keys["usl"], join_path(path, "usl"), f"must be above lsl ({lsl:g})")
    chart = ChartConfig(
        name=name or "",
        metric=metric or "",
        matchers=opt(keys, "selector", path, lambda n, p: _selector(reader, n, p), ()),
        by=opt(keys, "by", path, lambda n, p: _by(reader, n, p), ()),
        baseline=read_baseline(
            reader, keys.get("baseline"), join_path(path, "baseline"), defaults, is_log
        ),
        evaluation=opt(keys, "evaluation", path, reader.duration, defaults.evaluation),
        log=is_log,
        estimator=opt(keys, "estimator", path, lambda n, p: _estimator(reader, n, p), "mr"),
        usl=usl,
        lsl=lsl,
        rules=opt(keys, "rules", path, lambda n, p: _rules(reader, n, p), ALL_RULES),
        detectors=read_signals(reader, keys, path),
        hold=opt(keys, "hold", path, lambda n, p: reader.duration(n, p, False), defaults.hold),
        min_points=opt(
            keys, "min_points", path, lambda n, p: reader.integer(n, p, 2), defaults.min_points
        ),
        min_subgroup=opt(keys, "min_subgroup", path, lambda n, p: reader.integer(n, p, 1), 1),
        refits=opt(keys, "refits", path, lambda n, p: reader.integer(n, p, 0), 3),
        direction=opt(
            keys,
            "direction",
            path,
            lambda n, p: read_direction(reader, n, p),
            default_direction(metric or ""),
        ),
        paging=read_paging(reader, keys.get("paging"), join_path(path, "paging"), defaults.paging),
        proportion=proportion,
        side=opt(keys, "side", path, lambda n, p: read_side(reader, n, p), "unknown"),
        min_effect=read_min_effect(reader, keys, path, is_log),
    )
    if kind == "p":
        base = join_path(path, "baseline")
        refuse_pinned(reader, keys.get("baseline"), base, chart.baseline)
        return chart if name and proportion else None
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
