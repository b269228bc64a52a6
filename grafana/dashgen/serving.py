"""The SPC dashboard's serving rows: one per engine the sidecar's presets chart (vLLM, SGLang,
TGI, LiteLLM, TensorRT-LLM; docs/engines.md), and LiteLLM's proxy-or-provider row.

Preset chart names start with their engine (``vllm_e2e_latency``), so the ``engine`` variable
reads the engines present from the sidecar's ``llmscope_spc_chart_info`` and the row repeats
per engine. Failure shares are the p charts (``..._aborts``, ``..._failures``); every other
preset chart is a latency chart.
"""

from __future__ import annotations

from grafana.dashgen.layout import Grid, query_variable, row
from grafana.dashgen.panels import Json, Query, stat, table, thresholds, timeseries
from grafana.dashgen.promql import RATE, SIDECAR

ENGINES = ("vllm", "sglang", "tgi", "litellm", "trtllm")
_P = "(aborts|failures)"
LATENCY = f'{SIDECAR}, chart=~"${{engine}}_.*", chart!~"${{engine}}_{_P}"'
SHARE = f'{SIDECAR}, chart=~"${{engine}}_{_P}"'
LITELLM = f'{SIDECAR}, chart=~"litellm_(request_latency|api_latency|overhead)"'


def engine_variable() -> Json:
    """The engines with preset charts on this sidecar (the prefix of their chart names)."""
    names = "|".join(ENGINES)
    variable = query_variable(
        "engine",
        "Serving engine",
        f'label_values(llmscope_spc_chart_info{{{SIDECAR}, chart=~"({names})_.*"}}, chart)',
    )
    variable["regex"] = f"/^({names})_/"
    return variable


def _lines(selector: str, what: str) -> list[Query]:
    return [
        Query(f"max by (chart, series) (llmscope_spc_last_value{{{selector}}})", f"{what}"),
        Query(
            f"max by (chart, series) (llmscope_spc_upper_control_limit{{{selector}}})",
            f"{what} UCL",
        ),
        Query(f"max by (chart, series) (llmscope_spc_center{{{selector}}})", f"{what} center"),
    ]


def per_engine(grid: Grid) -> None:
    grid.row(row("Serving engine $engine", repeat="engine"))
    grid.add(
        timeseries(
            "Latency charts against their limits: $engine",
            "Every latency preset chart of the engine, per chart series: the latest point (the "
            "mean of the requests between two scrapes, from the histogram's _sum and _count), "
            "its upper control limit and center line at that point's request count.",
            _lines(LATENCY, "{{chart}} {{series}}"),
            "s",
        ),
        10,
        8,
    )
    grid.add(
        timeseries(
            "Failure share (p chart): $engine",
            "The engine's failure share per 5-minute subgroup (vLLM and SGLang: aborted "
            "requests; TGI, LiteLLM: failed ones) against its p-chart limits.",
            _lines(SHARE, "{{chart}} {{series}}"),
            "percentunit",
            min_value=0,
        ),
        8,
        8,
    )
    grid.add(
        stat(
            "Pages open: $engine",
            "Chart series of this engine with a page-severity alarm episode open now.",
            [
                Query(
                    "count(llmscope_spc_alarm_active"
                    f'{{{SIDECAR}, chart=~"${{engine}}_.*", severity="page"}} == 1) or vector(0)',
                    instant=True,
                )
            ],
            "none",
            steps=thresholds((None, "green"), (1, "red")),
        ),
        6,
        4,
    )
    grid.add(
        table(
            "Series with limits: $engine",
            "Per preset chart and series: 1 when it has control limits (a series needs "
            "min_points usable points first; an interval without requests is no point).",
            [
                Query(
                    "max by (chart, series) (llmscope_spc_limits_available"
                    f'{{{SIDECAR}, chart=~"${{engine}}_.*"}})',
                    instant=True,
                )
            ],
            "none",
            columns={"A": ("limits", "none")},
        ),
        6,
        4,
    )


def litellm(grid: Grid) -> None:
    grid.row(row("LiteLLM: the proxy's own time or the provider's"))
    grid.add(
        timeseries(
            "Proxy overhead beside the upstream call",
            "litellm_request_latency (the whole request), litellm_api_latency (side provider: "
            "the upstream call) and litellm_overhead (side ours: the proxy's own time per "
            "request, observed in seconds although its help text says milliseconds), each "
            "against its limits. A shift in the overhead is ours to fix, one in the upstream "
            "call the provider's.",
            _lines(LITELLM, "{{chart}} {{series}}"),
            "s",
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Time to rate-limit exhaustion",
            "The provider's remaining requests and tokens (x-ratelimit-remaining-* headers, "
            "as LiteLLM records them) divided by how fast they fall: when the window would "
            "run out at the current pace. Empty while the remaining count does not fall "
            "(the provider refilled the window). Forecasts, not control limits.",
            [_exhaustion("requests"), _exhaustion("tokens")],
            "s",
        ),
        12,
        8,
    )


def _exhaustion(what: str) -> Query:
    gauge = f"litellm_remaining_{what}_metric"
    return Query(
        f"{gauge} / -deriv({gauge}{RATE}) > 0", f"{what} {{{{model_group}}}} {{{{api_base}}}}"
    )
