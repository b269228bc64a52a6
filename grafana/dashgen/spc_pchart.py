"""SPC section repeated per series of the error-rate p chart: the share of failed probes
per subgroup against the sidecar's center line and its varying limits, and the subgroup
size that moves them.

The sidecar publishes, for a `kind: p` chart, the latest subgroup's share as `last_value`,
the share of the baseline as `center`, and the 3-sigma limits at the latest subgroup's n as
`upper_control_limit`/`lower_control_limit` (docs/sidecar.md, "p charts"); drawn over time
they are the p chart, limits narrowing where subgroups hold more probes.
"""

from __future__ import annotations

from grafana.dashgen.layout import Grid, row
from grafana.dashgen.panels import Query, Style, stat, timeseries
from grafana.dashgen.promql import SIDECAR
from grafana.dashgen.spc_chart import S

# The built-in error-rate chart (spc_rules/data/default.yml): failed probes among all.
CHART = "probe_errors"
VARIABLE = "errors"
E = f'{SIDECAR}, chart="{CHART}", series=~"${VARIABLE}"'
TITLE = "Error-rate p chart"


def error_rate(grid: Grid) -> None:
    grid.row(row(f"Failed probes (p chart {CHART}) · ${VARIABLE}", repeat=VARIABLE))
    grid.add(
        timeseries(
            TITLE,
            "Share of failed probes in each subgroup (blue points; the built-in chart pools "
            "5 minutes of probes) against the share of the baseline (green) and the 3-sigma "
            f"limits p ± 3·{S}z·sqrt(p(1-p)/n) (red; {S}z is Laney's factor, 1 without laney), "
            "which move with the subgroup size n: wider when a subgroup holds fewer probes. "
            "A point above the UCL is an error rate the baseline does not explain.",
            [
                Query(f"max(llmscope_spc_last_value{{{E}}})", "failed share"),
                Query(f"max(llmscope_spc_center{{{E}}})", "center"),
                Query(f"max(llmscope_spc_upper_control_limit{{{E}}})", "UCL"),
                Query(f"max(llmscope_spc_lower_control_limit{{{E}}})", "LCL"),
            ],
            "percentunit",
            min_value=0,
            styles=(
                Style("A", color="blue", points=True, line_width=2),
                Style("B", color="green", line_width=2),
                Style("C", color="red", dashed=True),
                Style("D", color="red", dashed=True),
            ),
            calcs=("mean", "max", "lastNotNull"),
            fill=0,
        ),
        20,
        9,
    )
    grid.add(
        stat(
            "Probes in the latest subgroup",
            "n of the latest point: the limits drawn are those of this n.",
            [Query(f"max(llmscope_spc_last_subgroup_size{{{E}}})", instant=True)],
            "none",
        ),
        4,
        9,
    )
