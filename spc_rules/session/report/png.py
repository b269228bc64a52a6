"""PNG export of the report's charts with matplotlib (no pyplot, no display, no browser).

Plotly's own image export (kaleido) downloads a Chrome build at run time, which an offline
or locked-down machine cannot do; matplotlib draws the same ``ChartData`` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from spc_rules.session.report.figures import (
    FLAG_COLOR,
    LIMIT_COLOR,
    POINT_COLOR,
    SPEC_COLOR,
    ChartData,
)
from spc_rules.session.report.sidebyside import SideBySide, color, ecdf
from spc_rules.sidecar.query.decode import FloatArray

_ZONES = {3: "#e6550d", 2: "#fdae61", 1: "#74c476"}


def control_png(c: ChartData, path: Path) -> None:
    fig = Figure(figsize=(8, 3.6), dpi=100)
    ax = fig.subplots()
    x = c.index
    if c.lines:
        for k in range(-2, 4):
            band = max(abs(k), abs(k - 1))
            ax.fill_between(x, c.lines[k - 1], c.lines[k], color=_ZONES[band], alpha=0.15, lw=0)
        ax.plot(x, c.lines[0], color="#555555", lw=1, ls="--", label="center")
        ax.plot(x, c.lines[3], color=LIMIT_COLOR, lw=1, label="UCL / LCL")
        ax.plot(x, c.lines[-3], color=LIMIT_COLOR, lw=1)
    ax.plot(x, c.values, color=POINT_COLOR, lw=0.8, marker="o", ms=3, label="points")
    for i in c.flagged:
        ax.plot(x[i], c.values[i], marker="o", ms=9, mfc="none", mec=FLAG_COLOR, mew=1.5)
        ax.annotate(
            ",".join(map(str, c.flags[i])),
            (x[i], c.values[i]),
            color=FLAG_COLOR,
            fontsize=7,
            xytext=(0, 6),
            textcoords="offset points",
            ha="center",
        )
    ax.set(title=f"{c.title}: control chart", xlabel="point (probe order)", ylabel=c.unit)
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    _save(fig, path)


def histogram_png(c: ChartData, path: Path) -> None:
    fig = Figure(figsize=(5, 3.6), dpi=100)
    ax = fig.subplots()
    ax.hist(c.values, bins="auto", color=POINT_COLOR, alpha=0.8)
    for value, name in ((c.usl, "USL"), (c.lsl, "LSL")):
        if value is not None:
            ax.axvline(value, color=SPEC_COLOR, ls="--", lw=1.5)
            ax.annotate(
                f"{name} {value:g}",
                (value, 1),
                xycoords=("data", "axes fraction"),
                color=SPEC_COLOR,
                fontsize=8,
                xytext=(3, -12),
                textcoords="offset points",
            )
    ax.set(title=f"{c.title}: histogram", xlabel=c.unit, ylabel="points")
    _save(fig, path)


def _save(fig: Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path)  # a Figure without pyplot is freed with its last reference


def _verdicts(fig: Figure, lines: Sequence[str]) -> None:
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=7, va="bottom", ha="left")


def _sized(lines: Sequence[str]) -> Figure:
    return Figure(figsize=(7, 4 + 0.18 * _count(lines)), dpi=100)


def _count(lines: Sequence[str]) -> int:
    return sum(line.count("\n") + 1 for line in lines)


def ecdf_png(sb: SideBySide, path: Path) -> None:
    fig = _sized(sb.verdicts)
    ax = fig.subplots()
    for i, (name, values) in enumerate(zip(sb.sessions, sb.values, strict=True)):
        x, y = ecdf(values)
        ax.step(x, y, where="post", color=color(i), lw=1.5, label=name)
    ax.set(title=f"{sb.title}: ECDF", xlabel=sb.unit, ylabel="share of points", ylim=(0, 1))
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    _save_with(fig, path, sb.verdicts)


def box_png(sb: SideBySide, path: Path) -> None:
    fig = _sized(sb.verdicts)
    ax = fig.subplots()
    parts = ax.boxplot(list(sb.values), showmeans=True, patch_artist=True)
    ax.set_xticks(range(1, len(sb.sessions) + 1), sb.sessions)
    for i, box in enumerate(parts["boxes"]):
        box.set(facecolor=color(i), alpha=0.5)
    ax.set(title=f"{sb.title}: box plots", ylabel=sb.unit)
    _save_with(fig, path, sb.verdicts)


def energy_png(points: Sequence[tuple[str, FloatArray, FloatArray]], path: Path) -> None:
    fig = Figure(figsize=(7, 4), dpi=100)
    ax = fig.subplots()
    for i, (label, durations, values) in enumerate(points):
        ax.scatter(durations, values, s=12, color=color(i), alpha=0.75, label=label)
    ax.set(
        title="Energy against latency (each probe)",
        xlabel="duration (seconds)",
        ylabel="Wh per 1,000 output tokens",
    )
    ax.legend(loc="best", fontsize=7, frameon=False)
    _save(fig, path)


def _save_with(fig: Figure, path: Path, lines: Sequence[str]) -> None:
    # Room below the axes for the test's lines, written on the figure as in the HTML.
    fig.tight_layout(rect=(0, 0.05 + 0.04 * _count(lines), 1, 1))
    _verdicts(fig, lines)
    fig.savefig(path)
