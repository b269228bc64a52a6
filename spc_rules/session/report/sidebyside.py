"""Sessions side by side: each series' distributions on one axis, the test written on them.

One ``SideBySide`` per target and metric that every session holds: the first session's
points and each later one's, and for each later session the line ``session compare`` prints
(change of the median with its interval, Mann-Whitney p). Plotly draws an overlaid ECDF
and box plots here; ``png`` draws the same data with matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from spc_rules.session import table
from spc_rules.session.compare import ALPHA, Comparison
from spc_rules.session.report.figures import figure_title, margin
from spc_rules.sidecar.query.decode import FloatArray

# One colour per session, in order (colour-blind safe: Okabe and Ito's palette).
SESSION_COLORS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00")


@dataclass(frozen=True)
class SideBySide:
    target: str
    metric: str
    unit: str
    sessions: tuple[str, ...]
    values: tuple[FloatArray, ...]
    verdicts: tuple[str, ...]  # one line per later session

    @property
    def title(self) -> str:
        return f"{self.target} · {self.metric}"

    @property
    def slug(self) -> str:
        return f"compare-{self.target}-{self.metric}"


def verdict(c: Comparison) -> str:
    """``after vs before: median +245.0ms [+211.1ms, +290.9ms]`` and, on a second line (a
    figure half a page wide holds no more), ``Mann-Whitney p = 3.9e-21, significant at 0.05``."""
    e, u, sign = c.median_change, c.unit, table.signed
    word = "significant" if c.significant else "not significant"
    return (
        f"{c.after_session} vs {c.before_session}: median {sign(e.value, u)} "
        f"[{sign(e.low, u)}, {sign(e.high, u)}]\nMann-Whitney p = {c.test.p_value:.2g}, "
        f"{word} at {ALPHA:g}"
    )


def side_by_side(comparisons: Sequence[Comparison]) -> list[SideBySide]:
    """Group ``compare``'s items by target and metric, sessions in the order given."""
    groups: dict[tuple[str, str], list[Comparison]] = {}
    for c in comparisons:
        groups.setdefault((c.target, c.metric), []).append(c)
    out = []
    for (target, metric), items in groups.items():
        first = items[0]
        out.append(
            SideBySide(
                target,
                metric,
                first.unit,
                (first.before_session, *(c.after_session for c in items)),
                (first.before.series.values, *(c.after.series.values for c in items)),
                tuple(verdict(c) for c in items),
            )
        )
    return out


def ecdf(values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Sorted values and the share of points at or below each."""
    x = np.sort(values)
    return x, np.arange(1, x.size + 1, dtype=np.float64) / max(x.size, 1)


def color(i: int) -> str:
    return SESSION_COLORS[i % len(SESSION_COLORS)]


def _layout(fig: go.Figure, sb: SideBySide, what: str, **axes: object) -> go.Figure:
    lines = sum(v.count("\n") + 1 for v in sb.verdicts)
    fig.add_annotation(
        text="<br>".join(sb.verdicts).replace("\n", "<br>"),
        xref="paper",
        yref="paper",
        x=0,
        y=0,
        yshift=-48,  # below the x axis and its title
        yanchor="top",
        xanchor="left",
        align="left",
        showarrow=False,
        font={"size": 11},
    )
    fig.update_layout(
        title=figure_title(f"{sb.title}: {what}"),
        height=380 + 16 * lines,
        margin=margin(bottom=60 + 16 * lines),
        template="plotly_white",
        # Inside the axes, bottom right: below an ECDF's curves, where they never are.
        legend={"y": 0.02, "yanchor": "bottom", "x": 0.98, "xanchor": "right"},
        **axes,
    )
    return fig


def ecdf_figure(sb: SideBySide) -> go.Figure:
    fig = go.Figure()
    for i, (name, values) in enumerate(zip(sb.sessions, sb.values, strict=True)):
        x, y = ecdf(values)
        fig.add_trace(
            go.Scatter(
                x=x.tolist(),
                y=y.tolist(),
                mode="lines",
                line={"shape": "hv", "color": color(i), "width": 2},
                name=name,
                hovertemplate=f"{name}<br>%{{x:.4g}} {sb.unit}: %{{y:.0%}} at or below"
                "<extra></extra>",
            )
        )
    return _layout(
        fig, sb, "ECDF", xaxis_title=sb.unit, yaxis_title="share of points", yaxis_range=[0, 1]
    )


def box_figure(sb: SideBySide) -> go.Figure:
    fig = go.Figure()
    for i, (name, values) in enumerate(zip(sb.sessions, sb.values, strict=True)):
        fig.add_trace(
            go.Box(
                y=values.tolist(),
                name=name,
                marker_color=color(i),
                boxpoints="outliers",
                boxmean=True,
            )
        )
    return _layout(fig, sb, "box plots", yaxis_title=sb.unit, showlegend=False)
