"""The committed dashboards as data for tests: panels, queries, variables, substitution.

Reads grafana/dashboards/*.json (what users import), never the generator, so the tests
judge the artifact itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = ROOT / "grafana" / "dashboards"

Json = dict[str, Any]

# Grafana's global variables the dashboards use, with values for a query run by hand.
BUILTINS = {"__rate_interval": "1m", "__range": "1h", "__interval": "1m"}
# $name, ${name} or ${name:format}, and the deprecated [[name]].
_VARIABLE = re.compile(r"\$\{(\w+)(?::[\w-]+)?\}|\$(\w+)|\[\[(\w+)\]\]")
_LABEL_VALUES = re.compile(r"^label_values\((?:(?P<expr>.+),\s*)?(?P<label>\w+)\)$", re.S)


@dataclass(frozen=True)
class Expr:
    """One PromQL expression of a dashboard: a panel query, an annotation or a variable."""

    dashboard: str  # the dashboard's uid
    panel: str  # the panel's title, "annotation: <name>" or "variable: <name>"
    ref: str  # the query's refId ("-" for annotations and variables)
    expr: str

    @property
    def where(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref}"


def load_all() -> dict[str, Json]:
    """File name -> dashboard."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(DASHBOARD_DIR.glob("*.json"))
    }


def panels(dashboard: Json) -> Iterator[Json]:
    """Every panel, rows included; a collapsed row keeps its panels inside it."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def query_panels(dashboard: Json) -> Iterator[Json]:
    return (p for p in panels(dashboard) if p.get("type") != "row")


def variables(dashboard: Json) -> list[Json]:
    found: list[Json] = dashboard.get("templating", {}).get("list", [])
    return found


def label_values(query: str) -> tuple[str, str]:
    """(series selector or expression, label) of a ``label_values(...)`` variable query."""
    match = _LABEL_VALUES.match(query.strip())
    if match is None:
        raise ValueError(f"not a label_values() query: {query!r}")
    return match["expr"] or "", match["label"]


def expressions(dashboard: Json) -> Iterator[Expr]:
    uid = dashboard["uid"]
    for panel in query_panels(dashboard):
        for target in panel.get("targets", []):
            yield Expr(uid, panel["title"], target.get("refId", "?"), target.get("expr", ""))
    for note in dashboard.get("annotations", {}).get("list", []):
        if "expr" in note:
            yield Expr(uid, f"annotation: {note['name']}", "-", note["expr"])
    for variable in variables(dashboard):
        if variable.get("type") == "query":
            selector, label = label_values(variable["query"])
            yield Expr(
                uid, f"variable: {variable['name']}", "-", f"group by ({label}) ({selector})"
            )


def referenced(text: str) -> set[str]:
    """Names of the variables a text uses."""
    return {next(g for g in m.groups() if g) for m in _VARIABLE.finditer(text)}


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace every variable; a name without a value raises KeyError naming it."""

    def value(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        if name not in values:
            raise KeyError(f"no value for ${name} in {text!r}")
        return values[name]

    return _VARIABLE.sub(value, text)
