"""SPC section repeated per target: the control chart with its zones, capability and the
rule flags."""

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
from grafana.dashgen.promql import C

S = "\u03c3"  # sigma, in legends and descriptions
# Capability: below 1 the spread crosses the spec limit; 1.33 is the usual target.
CAPABILITY = thresholds((None, "red"), (1, "orange"), (1.33, "green"))
VIOLATION = value_map({0: ("in control", "green"), 1: ("violation", "red")})

# The control chart's series: (refId, expr, legend); zones as in the Western Electric
# handbook, shaded between neighbouring lines with fillBelowTo.
_LINES = (
    ("A", f"llmscope_spc_last_value{{{C}}}", "point"),
    ("B", f"llmscope_spc_center{{{C}}}", "center"),
    ("C", f"llmscope_spc_upper_control_limit{{{C}}}", "UCL"),
    ("D", f"llmscope_spc_lower_control_limit{{{C}}}", "LCL"),
    ("E", f'llmscope_spc_zone_upper{{{C}, sigmas="2"}}', f"+2{S}"),
    ("F", f'llmscope_spc_zone_upper{{{C}, sigmas="1"}}', f"+1{S}"),
    ("G", f'llmscope_spc_zone_lower{{{C}, sigmas="1"}}', f"-1{S}"),
    ("H", f'llmscope_spc_zone_lower{{{C}, sigmas="2"}}', f"-2{S}"),
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


def per_target(grid: Grid) -> None:
    grid.row(row("$chart · $target", repeat="target"))
    grid.add(
        timeseries(
            "Control chart",
            f"The latest point (blue) against the center line μ (green), the 3{S} control "
            f"limits UCL/LCL (red) and the ±1{S}, ±2{S} zone bounds, shaded by zone. With the log "
            f"transform the lines are geometric: μ·e^(k{S}). Values are in the judged "
            "metric's base unit (seconds, or tokens per second). The sidecar evaluates "
            "every cycle (30s by default), so the point steps from probe to probe.",
            [Query(expr, legend) for _, expr, legend in _LINES],
            "short",
            styles=_STYLES,
            calcs=("lastNotNull",),
            fill=0,  # only the zones are shaded (their own fillBelowTo and opacity)
        ),
        24,
        10,
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
            "Sigma (fitting scale)",
            f"{S} of one observation on the scale the limits are fitted on: of ln(x) with the "
            "log transform (a relative spread: 0.1 is about 10%), else in the metric's unit.",
            [Query(f"max(llmscope_spc_sigma{{{C}}})", instant=True)],
            "none",
            decimals=3,
        ),
        6,
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
            f"time. 1: beyond 3{S}; 2: nine on one side; 3: six rising or falling; 4: fourteen "
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
