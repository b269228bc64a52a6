"""SPC section repeated per chart series: the control chart with every point and the
sidecar's lines, the paging statistic against its decision line, capability and the rule
flags."""

from __future__ import annotations

from grafana.dashgen.layout import Grid, row
from grafana.dashgen.panels import (
    Query,
    Style,
    stat,
    state_timeline,
    thresholds,
    timeseries,
    value_map,
)
from grafana.dashgen.promql import HISTOGRAM, C

S = "\u03c3"  # sigma, in legends and descriptions
# Capability: below 1 the spread crosses the spec limit; 1.33 is the usual target.
CAPABILITY = thresholds((None, "red"), (1, "orange"), (1.33, "green"))
VIOLATION = value_map({0: ("in control", "green"), 1: ("violation", "red")})
PROVISIONAL = value_map({0: ("baseline", "green"), 1: ("provisional", "orange")})

# The control chart's series: (refId, expr, legend); zones as in the Western Electric
# handbook, shaded between neighbouring lines with fillBelowTo.
# Every point, rebuilt as the sidecar rebuilds it: between two scrapes of a stored series,
# the change of _sum over the change of _count (the mean of a subgroup), summed over the
# stored series of one chart series (its `by` labels), and kept to the selected series by
# joining the sidecar's own series. Drawn at scrape resolution (the panel's interval is the
# scrape interval); a scrape without a new observation has no point.
POINTS = (
    "(sum by (${by:raw}) (idelta({" + HISTOGRAM % "sum" + "}[5m]))"
    " / (sum by (${by:raw}) (idelta({" + HISTOGRAM % "count" + "}[5m])) > 0))"
    " and on (${by:raw}) llmscope_spc_last_value{" + C + "}"
)
# The zone bounds: recording rules over center, sigma and the subgroup size
# (prometheus/templates/spc.yml, llmscope.spc.zones).
ZONE = "chart_series:llmscope_spc_zone"
_LINES = (
    ("A", POINTS, "point"),
    ("B", f"llmscope_spc_center{{{C}}}", "center"),
    ("C", f"llmscope_spc_upper_control_limit{{{C}}}", "UCL"),
    ("D", f"llmscope_spc_lower_control_limit{{{C}}}", "LCL"),
    ("E", f'{ZONE}_upper:sigmas{{{C}, sigmas="2"}}', f"+2{S}"),
    ("F", f'{ZONE}_upper:sigmas{{{C}, sigmas="1"}}', f"+1{S}"),
    ("G", f'{ZONE}_lower:sigmas{{{C}, sigmas="1"}}', f"-1{S}"),
    ("H", f'{ZONE}_lower:sigmas{{{C}, sigmas="2"}}', f"-2{S}"),
)
_STYLES = (
    Style("A", color="blue", points=True, line_width=2),
    Style("B", color="green", line_width=2),
    Style("C", color="red", dashed=True, fill_below_to=f"+2{S}", fill_opacity=12),
    Style("D", color="red", dashed=True),
    Style("E", color="orange", dashed=True, fill_below_to=f"+1{S}", fill_opacity=10),
    Style("F", color="yellow", dashed=True, fill_below_to=f"-1{S}", fill_opacity=8),
    Style("G", color="yellow", dashed=True, fill_below_to=f"-2{S}", fill_opacity=10),
    Style("H", color="orange", dashed=True, fill_below_to="LCL", fill_opacity=12),
)


def per_series(grid: Grid) -> None:
    grid.row(row("$chart · $series", repeat="series"))
    grid.add(
        timeseries(
            "Control chart",
            f"Every point (blue), rebuilt from the histogram's _sum and _count at scrape "
            f"resolution as the sidecar does, against the center line μ (green), the 3{S} "
            f"control limits UCL/LCL (red) and the ±1{S}, ±2{S} zone bounds, shaded by zone. "
            f"With the log transform the lines are geometric: μ·e^(k{S}). Values are in the "
            "judged metric's base unit (seconds, or tokens per second).",
            [Query(expr, legend) for _, expr, legend in _LINES],
            "short",
            styles=_STYLES,
            calcs=("lastNotNull",),
            fill=0,  # only the zones are shaded (their own fillBelowTo and opacity)
        ),
        24,
        10,
    )
    grid.add(
        timeseries(
            "Paging statistic",
            "The alarm detectors' CUSUM (in sigmas of the reference) against their decision "
            "lines h: an episode opens when the statistic passes its line and closes below "
            "half of it. page: tuned for a 1.7x shift, at most one false page per week per "
            "100 series; ticket: tuned for 1.2x, one false ticket per day per 100 series.",
            [
                Query(
                    f"max by (severity) (llmscope_spc_alarm_statistic{{{C}}})",
                    "{{severity}} statistic",
                ),
                Query(
                    f"max by (severity) (llmscope_spc_alarm_threshold{{{C}}})",
                    "{{severity}} decision line",
                ),
            ],
            "none",
            styles=(Style("B", dashed=True),),
        ),
        24,
        7,
    )
    spec = "1.33 is the usual target; below 1 the spread crosses the spec limit."
    for name, description in (
        (
            "cpk",
            "Cpk: capability against the spec limits, within-subgroup sigma. Only charts "
            "with usl or lsl have it; " + spec,
        ),
        (
            "ppk",
            "Ppk: performance against the spec limits, overall sigma. Only charts with "
            "usl or lsl have it; " + spec,
        ),
        ("cp", "Cp: potential capability (both spec limits needed). " + spec),
        ("pp", "Pp: potential performance (both spec limits needed). " + spec),
    ):
        grid.add(
            stat(
                name.capitalize(),
                description,
                [Query(f"max(llmscope_spc_{name}{{{C}}})")],
                "none",
                steps=CAPABILITY,
                decimals=2,
                graph=True,
            ),
            3,
            4,
        )
    grid.add(
        stat(
            "Limits",
            "baseline: fitted on the rolling baseline; provisional: fitted on the series' "
            "earliest points until the baseline holds min_points points (about an hour and "
            "five minutes after a new series appears, with the defaults).",
            # Published only while 1: none is the baseline's limits.
            [Query(f"max(llmscope_spc_limits_provisional{{{C}}}) or vector(0)", instant=True)],
            "none",
            mappings=PROVISIONAL,
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Sigma (fitting scale)",
            f"{S} of one observation on the scale the limits are fitted on: of ln(x) with the "
            "log transform (a relative spread: 0.1 is about 10%), else in the metric's unit.",
            [Query(f"max(llmscope_spc_sigma{{{C}}})", instant=True)],
            "none",
            decimals=3,
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Baseline / window points",
            "Points the limits were fitted on (0 for pinned limits), and points judged in "
            "the evaluation window.",
            [
                Query(f"max(llmscope_spc_baseline_points{{{C}}})", "baseline", instant=True),
                Query(f"max(llmscope_spc_window_points{{{C}}})", "window", instant=True),
            ],
            "none",
        ),
        6,
        4,
    )
    grid.add(
        state_timeline(
            "Rule flags",
            "Each rule's flag over time: red while a point it flagged is within the hold "
            "time (a rule appears once it flagged in the time range). "
            f"1: beyond 3{S}; 2: nine on one side; 3: six rising or falling; 4: fourteen "
            f"alternating; 5: two of three beyond 2{S}; 6: four of five beyond 1{S}; 7: fifteen "
            f"within 1{S}; 8: eight beyond 1{S} on both sides; ewma, cusum: small sustained "
            "shifts.",
            [
                Query(
                    f"max by (rule) (llmscope_spc_violation_active{{{C}}})",
                    "rule {{rule}}",
                )
            ],
            VIOLATION,
        ),
        24,
        7,
    )
