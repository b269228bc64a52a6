"""LLMscope / SPC: control charts from the SPC sidecar, per chart and target.

The sidecar (spc_rules/sidecar/) publishes, per chart and series, the latest point, the
center line and control limits, on the metric's own scale at the latest point's subgroup
size, and its alarm detectors' statistics; the 1 and 2 sigma zone bounds are recording
rules over them (prometheus/templates/spc.yml, llmscope.spc.zones). One row per
selected chart series draws every point (rebuilt from the histogram) against those lines
with shaded zones (A: 2-3 sigma, B: 1-2 sigma, C: within 1 sigma), the paging statistic
against its decision line, the rule flags as a state timeline, and capability. Rule flags
are also dashboard annotations, at the flagged point's own time. The panels read one
sidecar (`job` and `instance` variables), so two sidecars never double a series.
"""

from __future__ import annotations

from grafana.dashgen import incidents, serving, spc_chart, spc_pchart
from grafana.dashgen.layout import (
    Grid,
    annotation,
    dashboard,
    datasource_variable,
    hidden_variable,
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
from grafana.dashgen.promql import RATE, SIDECAR, C

UID = "llmscope-spc"
CHART = f'{SIDECAR}, chart="$chart"'


def summary(grid: Grid) -> None:
    grid.row(row("Chart $chart: all selected series"))
    grid.add(
        stat(
            "Sidecar evaluating",
            "Whether the SPC sidecar's last evaluation cycle succeeded (llmscope_spc_up). "
            "While it fails, it serves its previous results, which age.",
            [Query(f"min(llmscope_spc_up{{{SIDECAR}}})", instant=True)],
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
            [
                Query(
                    f'max(llmscope_spc_results_age_seconds{{{SIDECAR}, chart="$chart"}})',
                    instant=True,
                )
            ],
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
            "selected series and rules.",
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
            "Points flagged per chart series during the dashboard's time range, over all its "
            "rules (1-8: Nelson rules; ewma, cusum: the small-shift detectors, where enabled; "
            "a point two rules flag counts twice). Which rules: the rule flags of each series "
            "below, and the annotations.",
            [
                Query(
                    "sum by (series) "
                    f"(increase(llmscope_spc_violations_total{{{C}}}[$__range])) > 0",
                    "{{series}}",
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
            "Per chart series: the latest point, center line and control limits on the metric's "
            "own scale (seconds for latency charts, tokens per second for throughput), the "
            "points in the baseline and evaluation windows, and capability.",
            [
                Query(f"max by (series) (llmscope_spc_last_value{{{C}}})", instant=True),
                Query(f"max by (series) (llmscope_spc_center{{{C}}})", instant=True),
                Query(f"max by (series) (llmscope_spc_upper_control_limit{{{C}}})", instant=True),
                Query(f"max by (series) (llmscope_spc_lower_control_limit{{{C}}})", instant=True),
                Query(f"max by (series) (llmscope_spc_baseline_points{{{C}}})", instant=True),
                Query(f"max by (series) (llmscope_spc_window_points{{{C}}})", instant=True),
                Query(f"max by (series) (llmscope_spc_cpk{{{C}}})", instant=True),
                Query(f"max by (series) (llmscope_spc_ppk{{{C}}})", instant=True),
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
            "How long ago each rule last flagged a point, per chart series, for the rules "
            "that flagged during the dashboard's time range (the sidecar publishes a flag's "
            "time while the flag is active).",
            [
                Query(
                    "time() - max by (series, rule) (max_over_time("
                    f"llmscope_spc_violation_last_timestamp_seconds{{{C}}}[$__range]))",
                    "{{series}} rule {{rule}}",
                    instant=True,
                )
            ],
            "s",
            steps=thresholds((None, "red"), (3600, "orange"), (86400, "green")),
        ),
        8,
        8,
    )


def alarms(grid: Grid) -> None:
    grid.row(row("Alarm episodes of chart $chart"))
    grid.add(
        table(
            "Alarm episodes",
            "Per chart series and severity: an episode open now (1) and the reference the "
            "detector compares new points with while it is open, the episodes opened in the "
            "time range, and how many times a lasting shift was accepted as the new normal "
            "(the counters appear with a series' first episode or acceptance).",
            [
                Query(
                    f"max by (series, severity) (llmscope_spc_alarm_active{{{C}}}) or {_NONE}",
                    instant=True,
                ),
                Query(
                    f"max by (series, severity) (llmscope_spc_alarm_reference{{{C}}})",
                    instant=True,
                ),
                Query(_in_range("llmscope_spc_alarms_total"), instant=True),
                Query(_in_range("llmscope_spc_shifts_accepted_total"), instant=True),
            ],
            "short",
            columns={
                "A": ("open", "none"),
                "B": ("reference", "short"),
                "C": ("episodes in range", "none"),
                "D": ("shifts accepted in range", "none"),
            },
        ),
        12,
        8,
    )
    grid.add(
        table(
            "Points needed for limits",
            "Usable points each chart series still needs before it has control limits (0: it "
            "has them; a new series gets provisional limits after min_points points).",
            [
                Query(
                    # Published only while above 0: a series with limits reads 0.
                    f"max by (series) (llmscope_spc_limits_points_needed{{{C}}}) "
                    f"or max by (series) (llmscope_spc_limits_available{{{C}}}) * 0",
                    instant=True,
                )
            ],
            "none",
            columns={"A": ("points needed", "none")},
        ),
        6,
        8,
    )
    grid.add(
        stat(
            "Charts matching nothing",
            "Configured charts whose selector has matched no series for longer than their "
            "evaluation window (a typo, a renamed metric): LLMscopeSPCChartEmpty.",
            [
                Query(
                    f"sum(llmscope_spc_chart_matches_nothing{{{SIDECAR}}})",
                    instant=True,
                ),
            ],
            "none",
            steps=thresholds((None, "green"), (1, "orange")),
        ),
        6,
        8,
    )


# 0 for every chart series and severity the detector judges: the families published only
# while they hold (an open episode, a counter after its first event) read 0 where absent.
_NONE = f"max by (series, severity) (llmscope_spc_alarm_threshold{{{C}}}) * 0"


def _in_range(counter: str) -> str:
    """Events in the time range, per chart series and severity. The counter appears with a
    series' first event, as a labelled counter of any client library does: increase()
    counts from the second (the first is in the open column and the annotations)."""
    return f"sum by (series, severity) (increase({counter}{{{C}}}[$__range])) or {_NONE}"


def health(grid: Grid) -> None:
    grid.row(row("Sidecar health"))
    grid.add(
        timeseries(
            "Evaluation cycle by stage",
            "Duration of the sidecar's last cycle by stage: query (HTTP to Prometheus), "
            "decode (JSON to points), compute (limits, rules, capability).",
            [
                Query(
                    f"max by (instance, stage) (llmscope_spc_cycle_duration_seconds{{{SIDECAR}}})",
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
                    f"sum by (reason) (rate(llmscope_spc_query_errors_total{{{SIDECAR}}}{RATE}))",
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
                Query(
                    f"max by (chart) (llmscope_spc_results_age_seconds{{{SIDECAR}}})",
                    "{{chart}} age",
                ),
                Query(
                    "time() - max by (chart) "
                    f"(llmscope_spc_last_evaluation_timestamp_seconds{{{SIDECAR}}})",
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
    incidents.open_incidents(grid, SIDECAR)
    for section in (
        summary,
        alarms,
        spc_chart.per_series,
        spc_pchart.error_rate,
        serving.per_engine,
        serving.litellm,
        health,
    ):
        section(grid)
    return dashboard(
        UID,
        "LLMscope / SPC",
        "Statistical process control of LLM probe series: control limits, zones, Nelson "
        "rules 1-8, EWMA and CUSUM flags, Cpk/Ppk, from the LLMscope SPC sidecar.",
        [
            datasource_variable(),
            query_variable("job", "Sidecar job", "label_values(llmscope_spc_up, job)", multi=False),
            query_variable(
                "instance",
                "Sidecar",
                'label_values(llmscope_spc_up{job=~"$job"}, instance)',
                multi=False,
            ),
            query_variable(
                "chart",
                "Chart",
                f"label_values(llmscope_spc_chart_info{{{SIDECAR}}}, chart)",
                multi=False,
            ),
            query_variable(
                "series",
                "Series",
                f'label_values(llmscope_spc_limits_available{{{SIDECAR}, chart="$chart"}}, series)',
            ),
            query_variable(
                spc_pchart.VARIABLE,
                "Error-rate series",
                "label_values(llmscope_spc_limits_available"
                f'{{{SIDECAR}, chart="{spc_pchart.CHART}"}}, series)',
            ),
            serving.engine_variable(),
            *(
                hidden_variable(name, f"label_values(llmscope_spc_chart_info{{{CHART}}}, {name})")
                for name in ("metric", "selector", "by")
            ),
        ],
        grid,
        annotations=[
            incidents.incident_annotation(SIDECAR),
            # At the flagged point's own time: the value is that time, in milliseconds.
            annotation(
                "SPC violations",
                "max by (chart, series, rule) "
                f"(llmscope_spc_violation_last_timestamp_seconds{{{C}}}) * 1000",
                title="{{series}}: rule {{rule}}",
                text="Chart {{chart}}, {{series}}: rule {{rule}} flagged this point",
                tags="chart,series,rule",
                color="red",
                value_is_time=True,
            ),
            annotation(
                "SPC alarm episodes",
                "max by (chart, series, severity) "
                f"(llmscope_spc_alarm_started_timestamp_seconds{{{C}}}) * 1000",
                title="{{series}}: {{severity}} episode",
                text="Chart {{chart}}, {{series}}: a {{severity}} episode opened at this point",
                tags="chart,series,severity",
                color="purple",
                value_is_time=True,
            ),
        ],
        refresh="30s",
        time_from="now-3h",
    )
