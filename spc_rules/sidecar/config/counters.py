"""The keys of a `kind: p` chart: two counter selectors, the subgroup length and Laney's p'.

A p chart judges the share of one counter's increments among another's (failed probes among
all probes, canary answers different from the modal one among those compared). Each side is
a full series selector as in PromQL (``name{label="value"}``), read here so that a typo is a
config error with its line, not a failed query every cycle.
"""

from __future__ import annotations

import yaml

from servicekit.yamlconf import Reader, join_path
from spc_rules.sidecar.config.model import Baseline, CounterSelector, Proportion
from spc_rules.sidecar.config.selector import METRIC_NAME, parse_selector

KINDS = ("histogram", "p")
P_KEYS = frozenset({"numerator", "denominator", "subgroup", "laney"})
# Histogram keys a p chart has no use for: its points are shares, judged on their own scale.
HISTOGRAM_ONLY = ("metric", "selector", "transform", "estimator", "usl", "lsl")
DEFAULT_SUBGROUP = 300.0


def read_proportion(
    reader: Reader, node: yaml.Node, keys: dict[str, yaml.Node], path: str
) -> Proportion | None:
    """The p keys of a chart whose ``kind`` is p; every problem with its line."""
    for key in HISTOGRAM_ONLY:
        if key in keys:
            reader.fail(keys[key], join_path(path, key), "not used by a kind p chart")
    for key in ("numerator", "denominator"):
        if key not in keys:
            reader.fail(node, join_path(path, key), "required for kind p")
    numerator = _counter(reader, keys.get("numerator"), join_path(path, "numerator"))
    denominator = _counter(reader, keys.get("denominator"), join_path(path, "denominator"))
    opt = reader.optional
    subgroup = opt(keys, "subgroup", path, reader.duration, DEFAULT_SUBGROUP)
    laney = opt(keys, "laney", path, reader.boolean, False)
    if numerator is None or denominator is None:
        return None
    if numerator == denominator:
        reader.fail(keys["numerator"], join_path(path, "numerator"), "equals the denominator")
        return None
    return Proportion(numerator, denominator, subgroup, laney)


def refuse_p_keys(reader: Reader, keys: dict[str, yaml.Node], path: str) -> None:
    """A histogram chart with a p chart's keys: say which kind they need."""
    for key in sorted(P_KEYS & set(keys)):
        reader.fail(keys[key], join_path(path, key), "only for kind p charts")


def refuse_pinned(reader: Reader, node: yaml.Node | None, path: str, baseline: Baseline) -> None:
    if baseline.pinned(log=False) is not None:
        reader.fail(
            node,
            path,
            "a kind p chart cannot pin center and sigma; give a window, or start and end",
        )


def _counter(reader: Reader, node: yaml.Node | None, path: str) -> CounterSelector | None:
    """``name`` or ``name{matchers}``: a counter (its _total series, as Prometheus stores it)."""
    if node is None:
        return None
    text = reader.string(node, path)
    if text is None:
        return None
    body = text.strip()
    brace = body.find("{")
    name = body if brace < 0 else body[:brace].strip()
    if not METRIC_NAME.match(name):
        reader.fail(node, path, f'"{text}" does not start with a metric name, e.g. errors_total')
        return None
    try:
        matchers = parse_selector(body[brace:]) if brace >= 0 else ()
    except ValueError as err:
        reader.fail(node, path, str(err))
        return None
    for suffix in ("_bucket", "_sum"):
        if name.endswith(suffix):
            reader.fail(node, path, f'"{name}" is not a counter of events (use a _count)')
            return None
    return CounterSelector(name, matchers)
