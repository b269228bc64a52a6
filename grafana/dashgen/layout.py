"""Dashboards, rows, variables and annotations, and the grid that places panels.

The JSON follows Grafana's dashboard schema version 39 (Grafana 10.4 and later).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from grafana.dashgen.panels import DATASOURCE, Json

SCHEMA_VERSION = 39
# Grafana refreshes a query variable "on time range change" with 2, so a target that
# appears later shows up without reloading the dashboard.
REFRESH_ON_TIME_RANGE = 2


def row(title: str, repeat: str | None = None) -> Json:
    panel: Json = {"type": "row", "title": title, "collapsed": False, "panels": []}
    if repeat:
        panel["repeat"] = repeat
    return panel


@dataclass
class Grid:
    """Places panels left to right in Grafana's 24-column grid and numbers them."""

    panels: list[Json] = field(default_factory=list)
    x: int = 0
    y: int = 0
    line_height: int = 0

    def row(self, panel: Json) -> None:
        self._newline()
        self._put(panel, 24, 1)
        self._newline()

    def add(self, panel: Json, w: int, h: int) -> None:
        if self.x + w > 24:
            self._newline()
        self._put(panel, w, h)

    def _put(self, panel: Json, w: int, h: int) -> None:
        grid = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.panels.append({"id": len(self.panels) + 1, "gridPos": grid, **panel})
        self.x += w
        self.line_height = max(self.line_height, h)

    def _newline(self) -> None:
        if self.x:
            self.y += self.line_height
        self.x = 0
        self.line_height = 0


def datasource_variable() -> Json:
    """The one data source choice every panel follows (no uid is stored)."""
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "includeAll": False,
        "multi": False,
        "options": [],
        "refresh": 1,
        "regex": "",
    }


def query_variable(name: str, label: str, query: str, *, multi: bool = True) -> Json:
    """A label_values() variable; multi-value ones default to All, matched as ``.*``."""
    variable: Json = {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": dict(DATASOURCE),
        "query": query,
        "definition": query,
        "refresh": REFRESH_ON_TIME_RANGE,
        "multi": multi,
        "includeAll": multi,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]} if multi else {},
        "options": [],
        "sort": 1,
        "regex": "",
        "hide": 0,
    }
    if multi:
        variable["allValue"] = ".*"
    return variable


def hidden_variable(name: str, query: str) -> Json:
    """A single-value label_values() variable the panels use but nobody picks."""
    variable = query_variable(name, name, query, multi=False)
    variable["hide"] = 2
    return variable


def annotation(
    name: str,
    expr: str,
    *,
    title: str,
    text: str,
    tags: str,
    color: str,
    value_is_time: bool = False,
) -> Json:
    """Prometheus annotations: one region per stretch of time the expression has a value, or
    (``value_is_time``) one mark at the time the value gives, in milliseconds."""
    return {
        "name": name,
        "datasource": dict(DATASOURCE),
        "enable": True,
        "hide": False,
        "iconColor": color,
        "expr": expr,
        "step": "15s",
        "titleFormat": title,
        "textFormat": text,
        "tagKeys": tags,
        "useValueForTime": value_is_time,
    }


def dashboard(
    uid: str,
    title: str,
    description: str,
    variables: Sequence[Json],
    grid: Grid,
    *,
    annotations: Sequence[Json] = (),
    refresh: str = "30s",
    time_from: str = "now-6h",
) -> Json:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["llmscope"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "refresh": refresh,
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "timezone": "",
        "weekStart": "",
        "links": [
            {
                "title": "LLMscope dashboards",
                "type": "dashboards",
                "tags": ["llmscope"],
                "asDropdown": True,
                "includeVars": False,
                "keepTime": True,
                "icon": "external link",
                "targetBlank": False,
                "tooltip": "",
                "url": "",
            }
        ],
        "annotations": {"list": list(annotations)},
        "templating": {"list": list(variables)},
        "panels": grid.panels,
    }
