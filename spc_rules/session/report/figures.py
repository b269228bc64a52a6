"""What each chart of a report shows, computed once (``chart_data``), and its Plotly figures.

The PNG export (``spc_rules.session.report.png``) draws the same ``ChartData`` with matplotlib, so
the two renderings cannot disagree about a line or a flag.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from spc_rules import RULE_DESCRIPTIONS, BatchLimits
from spc_rules.session.summary import SeriesSummary
from spc_rules.sidecar.query.decode import FloatArray

ZONE_COLORS = {3: "rgba(230,85,13,0.13)", 2: "rgba(253,174,97,0.16)", 1: "rgba(116,196,118,0.16)"}
POINT_COLOR = "#3465a4"
FLAG_COLOR = "#cc0000"
LIMIT_COLOR = "#cc0000"
SPEC_COLOR = "#6a3d9a"
# Plotly's mode bar sits 2 px from the top of a chart and its buttons are 22 px high: a
# title pinned below it, and a top margin that holds both, keep the two apart.
MODEBAR_BOTTOM = 24
TITLE_FONT = 14
TOP_MARGIN = MODEBAR_BOTTOM + 8 + TITLE_FONT + 14


def figure_title(text: str) -> dict[str, object]:
    """A figure title under the mode bar, left-aligned with the plot."""
    return {
        "text": text,
        "font": {"size": TITLE_FONT},
        "x": 0.01,
        "xanchor": "left",
        "y": 1,
        "yref": "container",
        "yanchor": "top",
        "pad": {"t": MODEBAR_BOTTOM + 8},
    }


def margin(bottom: int = 50) -> dict[str, object]:
    """Fixed margins: with Plotly's automatic ones, charts that resize while the page lays
    out (responsive, in flex rows) now and then redraw too often and warn on the console."""
    return {"l": 70, "r": 20, "t": TOP_MARGIN, "b": bottom, "autoexpand": False}


# A horizontal legend along the bottom edge of the figure, below the x axis title.
BOTTOM_LEGEND = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0}
LEGEND_ROOM = 30


@dataclass(frozen=True)
class ChartData:
    target: str
    metric: str
    unit: str
    index: FloatArray  # 1..n, probe (point) order
    times: list[str]
    values: FloatArray
    sizes: FloatArray
    lines: dict[int, FloatArray]  # -3..3 sigma at every point; empty without limits
    z: FloatArray
    flags: list[list[int]]  # the rules that flagged each point
    usl: float | None
    lsl: float | None

    @property
    def title(self) -> str:
        return f"{self.target} · {self.metric}"

    @property
    def flagged(self) -> list[int]:
        return [i for i, rules in enumerate(self.flags) if rules]

    def rule_text(self, i: int) -> str:
        return "; ".join(f"rule {r}: {RULE_DESCRIPTIONS[r - 1]}" for r in self.flags[i])


def chart_data(s: SeriesSummary) -> ChartData:
    values, sizes = s.series.values, s.series.sizes
    lines: dict[int, FloatArray] = {}
    z = np.full(values.size, np.nan)
    if s.limits is not None:
        lim = BatchLimits.pinned([s.limits.center], s.limits.sigma, log=s.limits.log)
        lines = {k: lim.line(float(k), sizes[None, :])[0] for k in range(-3, 4)}
        z = s.limits.zscores(values, sizes)
    times = [
        dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        for t in s.series.times
    ]
    flags = [[int(r) + 1 for r in np.flatnonzero(s.flags[:, i])] for i in range(values.size)]
    return ChartData(
        target=s.series.target,
        metric=s.series.metric,
        unit=s.spec.unit,
        index=np.arange(1, values.size + 1, dtype=np.float64),
        times=times,
        values=values,
        sizes=sizes,
        lines=lines,
        z=z,
        flags=flags,
        usl=s.spec.usl,
        lsl=s.spec.lsl,
    )


def control_figure(c: ChartData) -> go.Figure:
    fig = go.Figure()
    x = c.index.tolist()
    if c.lines:
        # Zones: each band filled down to the line below it, from -3 sigma up.
        fig.add_trace(
            go.Scatter(
                x=x,
                y=c.lines[-3].tolist(),
                mode="lines",
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
            )
        )
        for k in range(-2, 4):
            band = max(abs(k), abs(k - 1))
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=c.lines[k].tolist(),
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=ZONE_COLORS[band],
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
        for k, name, dash in ((0, "center", "dash"), (3, "UCL", "solid"), (-3, "LCL", "solid")):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=c.lines[k].tolist(),
                    mode="lines",
                    name=name,
                    line={
                        "color": "#555555" if k == 0 else LIMIT_COLOR,
                        "width": 1.2,
                        "dash": dash,
                    },
                    hovertemplate=f"{name} %{{y:.4g}}<extra></extra>",
                )
            )
    hover = [
        f"#{int(i)} {t}<br>value {v:.4g} {c.unit}<br>n {n:g}, z {zz:+.2f}"
        + (f"<br><b>{c.rule_text(j)}</b>" if c.flags[j] else "")
        for j, (i, t, v, n, zz) in enumerate(zip(x, c.times, c.values, c.sizes, c.z, strict=True))
    ]
    fig.add_trace(
        go.Scatter(
            x=x,
            y=c.values.tolist(),
            mode="lines+markers",
            name="points",
            line={"color": POINT_COLOR, "width": 1},
            marker={"size": 5, "color": POINT_COLOR},
            hovertext=hover,
            hoverinfo="text",
        )
    )
    flagged = c.flagged
    if flagged:
        fig.add_trace(
            go.Scatter(
                x=[x[i] for i in flagged],
                y=[float(c.values[i]) for i in flagged],
                mode="markers+text",
                name="flagged by a rule",
                text=[",".join(map(str, c.flags[i])) for i in flagged],
                textposition="top center",
                textfont={"color": FLAG_COLOR, "size": 10},
                marker={
                    "size": 10,
                    "color": FLAG_COLOR,
                    "symbol": "circle-open",
                    "line": {"width": 2},
                },
                hovertext=[hover[i] for i in flagged],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        title=figure_title(f"{c.title}: control chart"),
        xaxis_title="point (probe order)",
        yaxis_title=c.unit,
        height=360,
        margin=margin(50 + LEGEND_ROOM),
        template="plotly_white",
        legend=BOTTOM_LEGEND,
    )
    return fig


def histogram_figure(c: ChartData) -> go.Figure:
    fig = go.Figure(
        go.Histogram(x=c.values.tolist(), name="points", marker_color=POINT_COLOR, opacity=0.8)
    )
    for value, name in ((c.usl, "USL"), (c.lsl, "LSL")):
        if value is not None:
            fig.add_vline(
                x=value,
                line={"color": SPEC_COLOR, "dash": "dash", "width": 2},
                annotation_text=f"{name} {value:g}",
                annotation_position="top",
            )
    fig.update_layout(
        title=figure_title(f"{c.title}: histogram"),
        xaxis_title=c.unit,
        yaxis_title="points",
        height=360,
        bargap=0.05,
        margin=margin(),
        template="plotly_white",
        showlegend=False,
    )
    return fig
