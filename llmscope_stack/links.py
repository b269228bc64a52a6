"""Where everything is, as the launcher prints it once every part is healthy."""

from __future__ import annotations

import urllib.parse

from llmscope_stack.settings import Settings

# The chart whose control chart the link draws: the built-in incident's target.
CHART, TARGET = "duration", "simulated-small"
_LINES = "last_value|center|upper_control_limit|lower_control_limit"


def control_chart_expr(chart: str = CHART, target: str = TARGET) -> str:
    """One PromQL selector for the four lines of a control chart: the points (each
    evaluation's latest), the centre line and both control limits, from the sidecar."""
    return f'{{__name__=~"llmscope_spc_({_LINES})",chart="{chart}",target="{target}"}}'


def graph_url(prometheus: str, expr: str, range_input: str = "30m") -> str:
    query = urllib.parse.urlencode({"g0.expr": expr, "g0.tab": "0", "g0.range_input": range_input})
    return f"{prometheus}/graph?{query}"


def endpoints(settings: Settings) -> list[str]:
    s = settings
    prometheus = s.url(s.ports.prometheus)
    auth = " (bearer token: LLMSCOPE_API_KEY)" if s.api_key else ""
    return [
        f"exporter       {s.url(s.ports.exporter)}/metrics{auth}",
        f"SPC sidecar    {s.url(s.ports.spc)}/metrics{auth}",
        f"Prometheus     {prometheus}  (alerts: {prometheus}/alerts)",
        f"Alertmanager   {s.url(s.ports.alertmanager)}",
        f"control chart  {graph_url(prometheus, control_chart_expr())}",
    ]
