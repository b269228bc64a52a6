"""The report's sustainability section: energy per 1,000 output tokens by target and session
with intervals, energy against latency, the change between sessions and its test, and one
line per target where energy was not measured, saying why."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from spc_rules.session import energy, table
from spc_rules.session.compare import ALPHA
from spc_rules.session.report.figures import BOTTOM_LEGEND, LEGEND_ROOM, figure_title, margin
from spc_rules.session.report.sidebyside import color
from spc_rules.session.store import Session
from spc_rules.sidecar.query.decode import FloatArray

ANCHOR = "sustainability"


@dataclass(frozen=True)
class Sustainability:
    summaries: list[energy.EnergySummary]
    missing: list[str]  # one line per target without energy: why
    changes: list[energy.EnergyChange]
    intensity: float | None
    sessions: int

    @property
    def points(self) -> list[tuple[str, FloatArray, FloatArray]]:
        """(label, durations, Wh per 1,000 tokens) per session and target with energy."""
        return [
            (f"{e.session} · {e.target}", e.durations, e.values)
            for e in self.summaries
            if e.values.size
        ]


def build(
    sessions: Sequence[Session], target: str | None, intensity: float | None
) -> Sustainability:
    intensity = energy.carbon_intensity(sessions, intensity)
    targets = [t for t in energy.targets_of(sessions) if target is None or t == target]
    per_session: list[dict[str, energy.EnergySummary | None]] = []
    summaries: list[energy.EnergySummary] = []
    missing: list[str] = []
    for t in targets:
        whys = {s.name: energy.not_measured(s, t) for s in sessions}
        if len({w for w in whys.values()}) == 1 and next(iter(whys.values())) is not None:
            missing.append(f"{t}: energy {next(iter(whys.values()))}")
        else:
            missing.extend(f"{t} in {name}: energy {w}" for name, w in whys.items() if w)
    for s in sessions:
        found = {t: energy.summarize(s, t, intensity) for t in targets}
        per_session.append(found)
        summaries.extend(e for e in found.values() if e is not None)
    changes = energy.compare(per_session) if len(sessions) > 1 else []
    return Sustainability(summaries, missing, changes, intensity, len(sessions))


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _row(cells: Sequence[str], tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{_e(c)}</{tag}>" for c in cells) + "</tr>"


def section_html(s: Sustainability, chart: Callable[[go.Figure, str], str]) -> str:
    parts = [
        f'<h2 id="{ANCHOR}">Sustainability: energy</h2>',
        '<p class="note">Energy charged to each successful probe (GPU through NVML, CPU '
        "packages through RAPL; a counter's steps shared among the probes in flight), per "
        "probe and per 1,000 output tokens: medians with 95% bootstrap intervals, and the "
        "total energy over all output tokens.</p>",
    ]
    if s.summaries:
        grams = "gCO2e/1k tokens [95% CI]"
        head = ("session", "target", "probes", "J/probe [95% CI]", "Wh/1k tokens [95% CI]")
        rows = [_row((*head, "total Wh/1k", grams), "th")]
        for e in s.summaries:
            g = table.estimate(e.g_per_1k) if e.g_per_1k is not None else "-"
            rows.append(
                _row(
                    (
                        e.session,
                        e.target,
                        str(e.probes),
                        table.estimate(e.joules_per_probe),
                        table.estimate(e.wh_per_1k),
                        table.number(e.total_wh_per_1k),
                        g,
                    )
                )
            )
        parts.append("<table>" + "".join(rows) + "</table>")
        if s.intensity is None:
            parts.append(
                '<p class="note">No grid carbon intensity given (<code>--carbon-intensity'
                "</code>, gCO2e per kWh): no grams of CO2e.</p>"
            )
        else:
            parts.append(f'<p class="note">Grid carbon intensity: {s.intensity:g} gCO2e/kWh.</p>')
    if s.missing:
        parts.append(
            '<ul class="energy-missing">'
            + "".join(f"<li>{_e(line)}</li>" for line in s.missing)
            + "</ul>"
        )
    figure = latency_figure(s)
    if figure is not None:
        parts.append(chart(figure, f"{ANCHOR}-energy-latency"))
    if s.sessions > 1:
        parts.append(_changes_html(s.changes))
    return "\n".join(parts)


def _changes_html(changes: Sequence[energy.EnergyChange]) -> str:
    if not changes:
        return '<p class="note">No target has energy in two sessions: no change to test.</p>'
    head = ("target", "sessions", "median Wh/1k", "change [95% CI]", "p-value")
    rows = [_row(head, "th")]
    for c in changes:
        e, n = c.change, table.number
        rows.append(
            _row(
                (
                    c.target,
                    f"{c.before.session} → {c.after.session}",
                    f"{n(c.before.wh_per_1k.value)} → {n(c.after.wh_per_1k.value)}",
                    f"{e.value:+.3g} [{e.low:+.3g}, {e.high:+.3g}]",
                    f"{c.test.p_value:.2g}" + (" (significant)" if c.significant else ""),
                )
            )
        )
    return (
        "<h3>Change of energy per 1,000 output tokens</h3><table>"
        + "".join(rows)
        + f"</table><p class='note'>As for latency: change of the median with a bootstrap "
        f"interval, Mann-Whitney U two-sided, significant: p &lt; {ALPHA:g}.</p>"
    )


def latency_figure(s: Sustainability) -> go.Figure | None:
    """Each probe's Wh per 1,000 output tokens against its duration: a faster model that
    burns more sits low on x and high on y."""
    points = s.points
    if not points:
        return None
    fig = go.Figure()
    for i, (label, durations, values) in enumerate(points):
        fig.add_trace(
            go.Scatter(
                x=durations.tolist(),
                y=values.tolist(),
                mode="markers",
                name=label,
                marker={"size": 6, "color": color(i), "opacity": 0.75},
                hovertemplate=f"{label}<br>%{{x:.3g}} s, %{{y:.3g}} Wh/1k tokens<extra></extra>",
            )
        )
    fig.update_layout(
        title=figure_title("Energy against latency (each probe)"),
        xaxis_title="duration (seconds)",
        yaxis_title="Wh per 1,000 output tokens",
        height=380,
        margin=margin(50 + LEGEND_ROOM),
        template="plotly_white",
        legend=BOTTOM_LEGEND,
    )
    return fig
