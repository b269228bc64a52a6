"""LLMscope / SPC: control charts from the SPC sidecar, per chart and target.

The sidecar (spc_rules/sidecar/) publishes, per chart and series, the latest point, the
center line, control limits and the 1 and 2 sigma zone bounds, all on the metric's own
scale at the latest point's subgroup size. One row per selected target draws them as a
control chart with shaded zones (A: 2-3 sigma, B: 1-2 sigma, C: within 1 sigma), the
rule flags as a state timeline, and capability. Rule flags are also dashboard annotations,
so violations show as markers on every chart.
"""

from __future__ import annotations

from grafana.dashgen import spc_chart
from grafana.dashgen.layout import (
    Grid,
    annotation,
    dashboard,
    datasource_variable,
    query_variable,
    row,
)
from grafana.dashgen.panels import (
    OK_FAILED,
    Json,
    Query,
    bargauge,
    stat,
    table,
    thresholds,
    timeseries,
)
from grafana.dashgen.promql import RATE, C

UID = "llmscope-spc"


def summary(grid: Grid) -> None:
    grid.row(row("Chart $chart: all selected targets"))
    grid.add(
        stat(
            "Sidecar evaluating",
            "Whether the SPC sidecar's last evaluation cycle succeeded (llmscope_spc_up). "
            "While it fails, it serves its previous results, which age.",
            [Query("min(llmscope_spc_up)", instant=True)],
            "none",
            mappings=OK_FAILED,
            steps=thresholds((None, "red"), (1, "green")),
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Results age",
            "Age of the results served for this chart; it grows while evaluations fail.",
            [Query('max(llmscope_spc_results_age_seconds{chart="$chart"})', instant=True)],
            "s",
            steps=thresholds((None, "green"), (300, "orange"), (900, "red")),
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Active violations",
            "Rule flags active now (a flagged point within the chart's hold time), over all "
            "selected targets and rules.",
            [
                Query(
                    f"count(llmscope_spc_violation_active{{{C}}} == 1) or vector(0)",
                    instant=True,
                )
            ],
            "none",
            steps=thresholds((None, "green"), (1, "red")),
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Series with limits",
            "Share of the selected series that have control limits; a series needs enough "
            "baseline points (min_points) first.",
            [Query(f"avg(llmscope_spc_limits_available{{{C}}})", instant=True)],
            "percentunit",
            steps=thresholds((None, "orange"), (1, "green")),
        ),
        4,
        4,
    )
    grid.add(
        bargauge(
            "Violations in the time range",
            "Points each rule flagged during the dashboard's time range (1-8: Nelson rules; "
            "ewma, cusum: the small-shift detectors, where enabled).",
            [
                Query(
                    "sum by (target, rule) "
                    f"(increase(llmscope_spc_violations_total{{{C}}}[$__range])) > 0",
                    "{{target}} rule {{rule}}",
                    instant=True,
                )
            ],
            "none",
            decimals=0,
            steps=thresholds((None, "red")),
        ),
        8,
        8,
    )
    grid.add(
        table(
            "Latest point and limits",
            "Per target: the latest point, center line and control limits on the metric's "
            "own scale (seconds for latency charts, tokens per second for throughput), the "
            "points in the baseline and evaluation windows, and capability.",
            [
                Query(f"max by (target) (llmscope_spc_last_value{{{C}}})", instant=True),
                Query(f"max by (target) (llmscope_spc_center{{{C}}})", instant=True),
                Query(f"max by (target) (llmscope_spc_upper_control_limit{{{C}}})", instant=True),
                Query(f"max by (target) (llmscope_spc_lower_control_limit{{{C}}})", instant=True),
                Query(f"max by (target) (llmscope_spc_baseline_points{{{C}}})", instant=True),
                Query(f"max by (target) (llmscope_spc_window_points{{{C}}})", instant=True),
                Query(f"max by (target) (llmscope_spc_cpk{{{C}}})", instant=True),
                Query(f"max by (target) (llmscope_spc_ppk{{{C}}})", instant=True),
            ],
            "short",
            columns={
                "A": ("latest", "short"),
                "B": ("center", "short"),
                "C": ("UCL", "short"),
                "D": ("LCL", "short"),
                "E": ("baseline points", "none"),
                "F": ("window points", "none"),
                "G": ("Cpk", "none"),
                "H": ("Ppk", "none"),
            },
        ),
        16,
        8,
    )
    grid.add(
        bargauge(
            "Time since each rule last flagged",
            "How long ago each rule last flagged a point, per target; rules that never "
            "flagged are not listed.",
            [
                Query(
                    "time() - max by (target, rule) "
                    f"(llmscope_spc_violation_last_timestamp_seconds{{{C}}})",
                    "{{target}} rule {{rule}}",
                    instant=True,
                )
            ],
            "s",
            steps=thresholds((None, "red"), (3600, "orange"), (86400, "green")),
        ),
        8,
        8,
    )


def health(grid: Grid) -> None:
    grid.row(row("Sidecar health"))
    grid.add(
        timeseries(
            "Evaluation cycle by stage",
            "Duration of the sidecar's last cycle by stage: query (HTTP to Prometheus), "
            "decode (JSON to points), compute (limits, rules, capability).",
            [
                Query(
                    "max by (instance, stage) (llmscope_spc_cycle_duration_seconds)",
                    "{{instance}} {{stage}}",
                )
            ],
            "s",
            stack=True,
        ),
        8,
        7,
    )
    grid.add(
        timeseries(
            "Query errors per second",
            "Failed queries from the sidecar to the Prometheus API, by reason.",
            [
                Query(
                    f"sum by (reason) (rate(llmscope_spc_query_errors_total{RATE}))",
                    "{{reason}}",
                )
            ],
            "reqps",
        ),
        8,
        7,
    )
    grid.add(
        timeseries(
            "Results age and last evaluation",
            "Age of the results served per chart, and time since the evaluation they came "
            "from (the same unless scrapes lag).",
            [
                Query("max by (chart) (llmscope_spc_results_age_seconds)", "{{chart}} age"),
                Query(
                    "time() - max by (chart) (llmscope_spc_last_evaluation_timestamp_seconds)",
                    "{{chart}} since evaluation",
                ),
            ],
            "s",
        ),
        8,
        7,
    )


def build() -> Json:
    grid = Grid()
    for section in (summary, spc_chart.per_target, health):
        section(grid)
    return dashboard(
        UID,
        "LLMscope / SPC",
        "Statistical process control of LLM probe series: control limits, zones, Nelson "
        "rules 1-8, EWMA and CUSUM flags, Cpk/Ppk, from the LLMscope SPC sidecar.",
        [
            datasource_variable(),
            query_variable(
                "chart", "Chart", "label_values(llmscope_spc_limits_available, chart)", multi=False
            ),
            query_variable(
                "target",
                "Target",
                'label_values(llmscope_spc_limits_available{chart="$chart"}, target)',
            ),
        ],
        grid,
        annotations=[
            annotation(
                "SPC violations",
                f"max by (chart, target, rule) (llmscope_spc_violation_active{{{C}}}) == 1",
                title="{{target}}: rule {{rule}}",
                text="Chart {{chart}}, target {{target}}: rule {{rule}} flagged a point",
                tags="chart,target,rule",
                color="red",
            )
        ],
        refresh="30s",
        time_from="now-3h",
    )
