"""Panels of the LLMscope dashboards as plain dicts: time series, stats, bar gauges, state
timelines and tables.

Every panel and query names the ``${datasource}`` variable, never a data source uid, so the
same JSON imports into any Grafana that has a Prometheus data source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}

Json = dict[str, Any]


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = "__auto"
    # Instant queries for tables, stats and bar gauges that show the latest value.
    instant: bool = False


@dataclass(frozen=True)
class Style:
    """Per-query look in a time series panel (matched by the query's refId)."""

    ref: str
    color: str | None = None
    dashed: bool = False
    points: bool = False
    line_width: int | None = None
    fill_below_to: str | None = None
    fill_opacity: int | None = None


def thresholds(*steps: tuple[float | None, str]) -> Json:
    return {
        "mode": "absolute",
        "steps": [{"color": color, "value": value} for value, color in steps],
    }


def value_map(entries: Mapping[int, tuple[str, str]]) -> list[Json]:
    """A value mapping: number -> (text, color)."""
    options = {
        str(value): {"text": text, "color": color, "index": i}
        for i, (value, (text, color)) in enumerate(entries.items())
    }
    return [{"type": "value", "options": options}]


OK_FAILED = value_map({0: ("failed", "red"), 1: ("ok", "green")})
NEUTRAL = thresholds((None, "green"))


def _targets(queries: Sequence[Query], table: bool) -> list[Json]:
    out = []
    for i, q in enumerate(queries):
        target: Json = {
            "datasource": dict(DATASOURCE),
            "refId": chr(ord("A") + i),
            "expr": q.expr,
            "legendFormat": q.legend,
            "editorMode": "code",
            "range": not q.instant,
            "instant": q.instant,
        }
        if table:
            target["format"] = "table"
        out.append(target)
    return out


def _panel(
    kind: str,
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    defaults: Json,
    options: Json,
    overrides: Sequence[Json] = (),
    table: bool = False,
) -> Json:
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": dict(DATASOURCE),
        "fieldConfig": {"defaults": defaults, "overrides": list(overrides)},
        "options": options,
        "targets": _targets(queries, table),
    }


def _legend(calcs: Sequence[str] = ()) -> Json:
    return {
        "showLegend": True,
        "displayMode": "table" if calcs else "list",
        "placement": "bottom",
        "calcs": list(calcs),
    }


def _style_override(style: Style) -> Json:
    props: list[Json] = []
    if style.color:
        props.append({"id": "color", "value": {"mode": "fixed", "fixedColor": style.color}})
    if style.dashed:
        props.append({"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}})
    if style.points:
        props += [
            {"id": "custom.showPoints", "value": "always"},
            {"id": "custom.pointSize", "value": 6},
        ]
    if style.line_width is not None:
        props.append({"id": "custom.lineWidth", "value": style.line_width})
    if style.fill_below_to:
        props.append({"id": "custom.fillBelowTo", "value": style.fill_below_to})
    if style.fill_opacity is not None:
        props.append({"id": "custom.fillOpacity", "value": style.fill_opacity})
    return {"matcher": {"id": "byFrameRefID", "options": style.ref}, "properties": props}


def timeseries(
    title: str,
    description: str,
    queries: Sequence[Query],
    unit: str,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    stack: bool = False,
    styles: Sequence[Style] = (),
    calcs: Sequence[str] = ("mean", "max", "lastNotNull"),
    fill: int | None = None,
) -> Json:
    """``fill``: area opacity under every line (default: light, heavier when stacked)."""
    if fill is None:
        fill = 25 if stack else 8
    defaults: Json = {
        "unit": unit,
        "color": {"mode": "palette-classic"},
        "custom": {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": fill,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        },
        "thresholds": NEUTRAL,
    }
    if min_value is not None:
        defaults["min"] = min_value
    if max_value is not None:
        defaults["max"] = max_value
    options = {
        "legend": _legend(calcs),
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    overrides = [_style_override(s) for s in styles]
    return _panel(
        "timeseries",
        title,
        description,
        queries,
        defaults=defaults,
        options=options,
        overrides=overrides,
    )


def stat(
    title: str,
    description: str,
    queries: Sequence[Query],
    unit: str,
    *,
    steps: Json = NEUTRAL,
    mappings: Sequence[Json] = (),
    decimals: int | None = None,
    graph: bool = False,
) -> Json:
    defaults: Json = {
        "unit": unit,
        "color": {"mode": "thresholds"},
        "thresholds": steps,
        "mappings": list(mappings),
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    options = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value",
        "graphMode": "area" if graph else "none",
        "textMode": "auto",
        "justifyMode": "auto",
        "orientation": "auto",
    }
    return _panel("stat", title, description, queries, defaults=defaults, options=options)


def bargauge(
    title: str,
    description: str,
    queries: Sequence[Query],
    unit: str,
    *,
    steps: Json = NEUTRAL,
    min_value: float | None = 0,
    max_value: float | None = None,
    decimals: int | None = None,
) -> Json:
    defaults: Json = {"unit": unit, "color": {"mode": "thresholds"}, "thresholds": steps}
    for key, value in (("min", min_value), ("max", max_value), ("decimals", decimals)):
        if value is not None:
            defaults[key] = value
    options = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "displayMode": "gradient",
        "orientation": "horizontal",
        "showUnfilled": True,
        "valueMode": "color",
    }
    return _panel("bargauge", title, description, queries, defaults=defaults, options=options)


def state_timeline(
    title: str, description: str, queries: Sequence[Query], mappings: Sequence[Json]
) -> Json:
    defaults: Json = {
        "unit": "none",
        "color": {"mode": "thresholds"},
        "thresholds": NEUTRAL,
        "mappings": list(mappings),
        "custom": {"fillOpacity": 80, "lineWidth": 0},
    }
    options = {
        "mergeValues": True,
        "showValue": "never",
        "alignValue": "left",
        "rowHeight": 0.85,
        "legend": {"showLegend": False, "displayMode": "list", "placement": "bottom"},
        "tooltip": {"mode": "single", "sort": "none"},
    }
    return _panel("state-timeline", title, description, queries, defaults=defaults, options=options)


def table(
    title: str,
    description: str,
    queries: Sequence[Query],
    unit: str,
    *,
    columns: Mapping[str, tuple[str, str]] = {},
    hide: Iterable[str] = (),
) -> Json:
    """One row per series: instant queries merged on their labels. ``columns`` maps a
    query's refId to (column title, unit); ``hide`` lists label columns to drop."""
    renames = {f"Value #{ref}": name for ref, (name, _) in columns.items()}
    overrides = [
        {
            "matcher": {"id": "byName", "options": name},
            "properties": [{"id": "unit", "value": column_unit}],
        }
        for name, column_unit in columns.values()
    ]
    excluded = dict.fromkeys(["Time", "__name__", *hide], True)
    panel = _panel(
        "table",
        title,
        description,
        queries,
        defaults={"unit": unit, "thresholds": NEUTRAL, "custom": {"align": "auto"}},
        options={"showHeader": True, "cellHeight": "sm", "footer": {"show": False}},
        overrides=overrides,
        table=True,
    )
    panel["transformations"] = [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {"excludeByName": excluded, "renameByName": renames}},
    ]
    return panel
