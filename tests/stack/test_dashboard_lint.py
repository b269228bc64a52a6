"""Static lint of grafana/dashboards/*.json, in the spirit of grafana/dashboard-linter.

Its rules, as applied here: template-datasource (one Prometheus data source variable named
"datasource"), panel-datasource (every panel and query follows it), panel-title-description,
panel-units (a known unit on every panel), target-rate-interval (rate/irate windows are
$__rate_interval), target-counter-agg (counters only through rate/irate/increase),
template-label-promql and template-on-time-change-reload. PromQL itself is parsed by a real
Prometheus in test_dashboard_promql.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.stack.dashboards import (
    ROOT,
    Json,
    expressions,
    label_values,
    load_all,
    panels,
    query_panels,
    referenced,
    variables,
)
from tests.stack.promql import Metric, Range, scan

DASHBOARDS = load_all()
UIDS = {
    "overview.json": "llmscope-overview",
    "spc.json": "llmscope-spc",
    "host-gpu.json": "llmscope-host-gpu",
}
DS_VARIABLE = "${datasource}"
# Grafana's unit ids (packages/grafana-data/src/valueFormats/categories.ts) that make sense
# for these metrics; anything else is a typo Grafana would silently show as a bare number.
UNITS = frozenset(
    {"none", "short", "percent", "percentunit", "bool", "bool_yes_no", "bool_on_off"}
    | {"s", "ms", "µs", "ns", "m", "h", "d", "dtdurations", "dateTimeFromNow", "dateTimeAsIso"}
    | {"bytes", "decbytes", "Bps", "binBps", "bps", "iops", "ops", "reqps", "cps", "rps"}
    | {"currencyUSD", "watt", "kwatt", "joule", "watth", "kwatth", "celsius", "hertz"}
)
CASES = list(DASHBOARDS.items())
RATE_FUNCTIONS = ("rate", "irate")
COUNTER_FUNCTIONS = ("rate", "irate", "increase")


def _datasource_refs(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every value stored under a "datasource" key anywhere in the JSON, with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield f"{path}.{key}", value
            yield from _datasource_refs(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _datasource_refs(item, f"{path}[{i}]")


def test_the_three_dashboards_keep_their_stable_uids() -> None:
    # Bookmarks, links and provisioning overwrite-by-uid all depend on these never changing.
    assert {name: d["uid"] for name, d in DASHBOARDS.items()} == UIDS
    titles = {d["title"] for d in DASHBOARDS.values()}
    assert titles == {"LLMscope / Overview", "LLMscope / SPC", "LLMscope / Host & GPU"}


@pytest.mark.parametrize(("name", "dashboard"), CASES, ids=list(DASHBOARDS))
def test_dashboard_is_importable_anywhere(name: str, dashboard: Json) -> None:
    # No numeric id (it belongs to the Grafana the file was exported from) and a current
    # schema, so an import neither clashes nor needs a migration.
    assert dashboard.get("id") is None, name
    assert 36 <= dashboard["schemaVersion"] <= 41, name
    assert dashboard.get("description"), name
    assert "__inputs" not in dashboard, f"{name}: data source comes from the variable"


@pytest.mark.parametrize(("name", "dashboard"), CASES, ids=list(DASHBOARDS))
def test_one_prometheus_datasource_variable(name: str, dashboard: Json) -> None:
    sources = [v for v in variables(dashboard) if v["type"] == "datasource"]
    assert len(sources) == 1, name
    (source,) = sources
    assert (source["name"], source["label"], source["query"]) == (
        "datasource",
        "Data source",
        "prometheus",
    )
    assert not source.get("current"), f"{name}: a saved choice would pin one Grafana's uid"


@pytest.mark.parametrize(("name", "dashboard"), CASES, ids=list(DASHBOARDS))
def test_no_datasource_uid_is_hard_coded(name: str, dashboard: Json) -> None:
    refs = list(_datasource_refs(dashboard))
    assert refs
    for path, value in refs:
        assert value == {"type": "prometheus", "uid": DS_VARIABLE}, f"{name}{path}: {value}"


@pytest.mark.parametrize(("name", "dashboard"), CASES, ids=list(DASHBOARDS))
def test_every_panel_has_title_description_and_queries(name: str, dashboard: Json) -> None:
    for panel in query_panels(dashboard):
        where = f"{name} / {panel.get('title')!r}"
        assert panel.get("title", "").strip(), where
        assert len(panel.get("description", "")) >= 20, f"{where}: describe what it shows"
        targets = panel.get("targets", [])
        assert targets, f"{where}: no queries"
        refs = [t["refId"] for t in targets]
        assert len(set(refs)) == len(refs), f"{where}: duplicate refIds"
        for target in targets:
            assert target.get("expr", "").strip(), f"{where} / {target['refId']}: empty expr"
            assert target.get("legendFormat"), f"{where} / {target['refId']}: no legend"


@pytest.mark.parametrize(("name", "dashboard"), CASES, ids=list(DASHBOARDS))
def test_every_panel_has_a_known_unit(name: str, dashboard: Json) -> None:
    for panel in query_panels(dashboard):
        config = panel["fieldConfig"]
        units = [config["defaults"].get("unit")]
        units += [
            prop["value"]
            for override in config.get("overrides", [])
            for prop in override["properties"]
            if prop["id"] == "unit"
        ]
        for unit in units:
            assert unit in UNITS, f"{name} / {panel['title']!r}: unit {unit!r}"


@pytest.mark.parametrize(("name", "dashboard"), CASES, ids=list(DASHBOARDS))
def test_state_panels_map_every_value_they_show(name: str, dashboard: Json) -> None:
    for panel in query_panels(dashboard):
        if panel["type"] == "state-timeline":
            options = panel["fieldConfig"]["defaults"]["mappings"][0]["options"]
            assert set(options) == {"0", "1"}, f"{name} / {panel['title']!r}"


@pytest.mark.parametrize(("name", "dashboard"), CASES, ids=list(DASHBOARDS))
def test_sparklines_and_timelines_have_range_queries(name: str, dashboard: Json) -> None:
    # An instant query gives one point: a sparkline or a timeline of it draws nothing.
    for panel in query_panels(dashboard):
        drawn = panel["type"] in ("timeseries", "state-timeline") or (
            panel["type"] == "stat" and panel["options"]["graphMode"] != "none"
        )
        if drawn:
            for target in panel["targets"]:
                assert target["range"], f"{name} / {panel['title']!r} / {target['refId']}"


@pytest.mark.parametrize(("name", "dashboard"), CASES, ids=list(DASHBOARDS))
def test_query_variables_use_label_values_and_refresh_on_time_change(
    name: str, dashboard: Json
) -> None:
    for variable in variables(dashboard):
        if variable["type"] != "query":
            continue
        where = f"{name} / ${variable['name']}"
        assert variable["refresh"] == 2, f"{where}: refresh on time range change"
        assert variable["datasource"] == {"type": "prometheus", "uid": DS_VARIABLE}, where
        selector, label = label_values(variable["query"])
        assert selector and label, where
        if variable["multi"]:
            assert variable["includeAll"] and variable["allValue"] == ".*", where


@pytest.mark.parametrize(("name", "dashboard"), CASES, ids=list(DASHBOARDS))
def test_variables_are_defined_used_and_matched_as_regex(name: str, dashboard: Json) -> None:
    defined = {v["name"]: v for v in variables(dashboard)}
    used: set[str] = set()
    for expr in expressions(dashboard):
        names = referenced(expr.expr)
        used |= names
        for var in names - {"__rate_interval", "__range", "__interval"}:
            assert var in defined, f"{expr.where}: ${var} is not a variable of the dashboard"
            if defined[var].get("multi"):
                # "All" and several values become a regex: only =~ matches them.
                # ${var} may open a longer regex: chart=~"${engine}_.*" (serving rows).
                ok = f'=~"${var}"' in expr.expr or f'=~"${{{var}}}' in expr.expr
                assert ok, f'{expr.where}: use label=~"${var}"'
    titles = " ".join(p.get("title", "") for p in panels(dashboard))
    used |= referenced(titles)
    assert set(defined) - {"datasource"} <= used, f"{name}: unused variables"


@pytest.mark.parametrize(("name", "dashboard"), CASES, ids=list(DASHBOARDS))
def test_rate_windows_use_rate_interval(name: str, dashboard: Json) -> None:
    for expr in expressions(dashboard):
        for node in scan(expr.expr):
            if isinstance(node, Range) and node.calls and node.calls[-1] in RATE_FUNCTIONS:
                assert node.duration == "$__rate_interval", f"{expr.where}: {expr.expr}"


@pytest.mark.parametrize(("name", "dashboard"), CASES, ids=list(DASHBOARDS))
def test_counters_are_read_through_rate_or_increase(name: str, dashboard: Json) -> None:
    for expr in expressions(dashboard):
        if expr.panel.startswith("variable: "):
            continue  # label_values() only lists label values
        for node in scan(expr.expr):
            if isinstance(node, Metric) and node.name.endswith("_total"):
                ok = node.ranged and node.calls and node.calls[-1] in COUNTER_FUNCTIONS
                assert ok, f"{expr.where}: counter {node.name} outside rate/increase"


@pytest.mark.parametrize(("name", "dashboard"), CASES, ids=list(DASHBOARDS))
def test_panels_fit_the_grid_without_overlapping(name: str, dashboard: Json) -> None:
    boxes: list[tuple[str, dict[str, int]]] = []
    ids = [p["id"] for p in panels(dashboard)]
    assert len(set(ids)) == len(ids), f"{name}: duplicate panel ids"
    for panel in panels(dashboard):
        g = panel["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24, f"{name} {panel['title']}"
        for other, o in boxes:
            overlap_x = g["x"] < o["x"] + o["w"] and o["x"] < g["x"] + g["w"]
            overlap_y = g["y"] < o["y"] + o["h"] and o["y"] < g["y"] + g["h"]
            assert not (overlap_x and overlap_y), f"{name}: {panel['title']} overlaps {other}"
        boxes.append((panel["title"], g))


@pytest.mark.parametrize(("name", "dashboard"), CASES, ids=list(DASHBOARDS))
def test_repeated_rows_repeat_a_multi_value_variable(name: str, dashboard: Json) -> None:
    multi = {v["name"] for v in variables(dashboard) if v.get("multi")}
    for panel in panels(dashboard):
        if "repeat" in panel:
            assert panel["repeat"] in multi, f"{name} / {panel['title']}"


def test_committed_dashboards_match_their_generator() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "grafana.dashgen", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
