"""Where everything is, as the launcher prints it once every part is healthy."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from llmscope_stack.settings import Settings

# The chart whose control chart the link draws, and the built-in incident's target.
CHART, TARGET = "duration", "simulated-small"
_LINES = "last_value|center|upper_control_limit|lower_control_limit"


def control_chart_expr(chart: str = CHART, target: str | None = TARGET) -> str:
    """One PromQL selector for the four lines of a control chart: the points (each
    evaluation's latest), the centre line and both control limits, from the sidecar.
    Without a target, every series of the chart. The lines carry the chart series in
    ``series`` (``target=T,vantage=V``), not the target's own label (docs/sidecar.md)."""
    series = f',series=~"target={_regex(target)}(,.*)?"' if target is not None else ""
    return f'{{__name__=~"llmscope_spc_({_LINES})",chart="{chart}"{series}}}'


_META = frozenset(".^$*+?()[]{}|\\")  # RE2's metacharacters


def _regex(value: str) -> str:
    """``value`` matched literally by a PromQL regex in a double-quoted string: regex
    metacharacters get a backslash, and each backslash and quote is escaped for the string."""
    out = []
    for c in value:
        if c in _META:
            out.append("\\\\" + ("\\\\" if c == "\\" else c))
        elif c == '"':
            out.append('\\"')
        else:
            out.append(c)
    return "".join(out)


def graph_url(prometheus: str, expr: str, range_input: str = "30m") -> str:
    query = urllib.parse.urlencode({"g0.expr": expr, "g0.tab": "0", "g0.range_input": range_input})
    return f"{prometheus}/graph?{query}"


def linked_target(exporter_config: Path | None, environ: Mapping[str, str]) -> str | None:
    """The target the control-chart link draws: the built-in incident's without
    ``--config.file``; otherwise the file's first target that will be probed (its key, if it
    names one, is set), else its first target. None when the file lists no target (the
    exporter refuses such a file; the link then draws the whole chart)."""
    if exporter_config is None:
        return TARGET
    targets = [t for t in _targets(exporter_config) if isinstance(t.get("name"), str)]
    probed = [t for t in targets if not t.get("api_key_env") or environ.get(t["api_key_env"])]
    chosen = (probed or targets or [{}])[0]
    name = chosen.get("name")
    return name if isinstance(name, str) else None


def endpoints(settings: Settings, environ: Mapping[str, str] = os.environ) -> list[str]:
    s = settings
    prometheus = s.url(s.ports.prometheus)
    auth = " (bearer token: LLMSCOPE_API_KEY)" if s.api_key else ""
    expr = control_chart_expr(CHART, linked_target(s.exporter_config, environ))
    return [
        f"exporter       {s.url(s.ports.exporter)}/metrics{auth}",
        f"SPC sidecar    {s.url(s.ports.spc)}/metrics{auth}",
        f"Prometheus     {prometheus}  (alerts: {prometheus}/alerts)",
        f"Alertmanager   {s.url(s.ports.alertmanager)}",
        f"control chart  {graph_url(prometheus, expr)}",
    ]


def _targets(path: Path) -> list[dict[str, Any]]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []  # the exporter reports what is wrong with the file, with its line
    targets = doc.get("targets") if isinstance(doc, dict) else None
    return [t for t in targets if isinstance(t, dict)] if isinstance(targets, list) else []
