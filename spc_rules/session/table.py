"""Text tables for the terminal and rows for CSV, from comparisons, trends and summaries."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from spc_rules.session.compare import Comparison, TrendRow
from spc_rules.session.energy import EnergyChange, EnergySummary
from spc_rules.session.stats import Estimate
from spc_rules.session.summary import SeriesSummary

COMPARE_COLUMNS = (
    "target",
    "metric",
    "unit",
    "before",
    "after",
    "points_before",
    "points_after",
    "median_before",
    "median_after",
    "median_change",
    "median_change_low",
    "median_change_high",
    "p95_before",
    "p95_after",
    "p95_change",
    "p95_change_low",
    "p95_change_high",
    "mann_whitney_u",
    "p_value",
    "significant",
    "ppk_before",
    "ppk_after",
    "in_control_before",
    "in_control_after",
)
TREND_COLUMNS = (
    "session",
    "start",
    "metric",
    "unit",
    "points",
    "median",
    "p95",
    "cpk",
    "ppk",
    "in_control",
)


def number(value: float | None, unit: str = "") -> str:
    """Seconds as ms below 1 s, other values with three significant figures."""
    if value is None or not math.isfinite(value):
        return "-"
    if unit == "seconds":
        return f"{value * 1000:.1f}ms" if abs(value) < 1 else f"{value:.3f}s"
    return f"{value:.3g}"


def verdict(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def ppk(s: SeriesSummary) -> float | None:
    return s.capability.ppk if s.capability is not None else None


def compare_rows(items: Iterable[Comparison]) -> list[dict[str, object]]:
    out = []
    for c in items:
        a, b = c.before, c.after
        out.append(
            {
                "target": c.target,
                "metric": c.metric,
                "unit": c.unit,
                "before": c.before_session,
                "after": c.after_session,
                "points_before": a.series.values.size,
                "points_after": b.series.values.size,
                "median_before": a.percentiles["p50"].value,
                "median_after": b.percentiles["p50"].value,
                "median_change": c.median_change.value,
                "median_change_low": c.median_change.low,
                "median_change_high": c.median_change.high,
                "p95_before": a.percentiles["p95"].value,
                "p95_after": b.percentiles["p95"].value,
                "p95_change": c.p95_change.value,
                "p95_change_low": c.p95_change.low,
                "p95_change_high": c.p95_change.high,
                "mann_whitney_u": c.test.u,
                "p_value": c.test.p_value,
                "significant": c.significant,
                "ppk_before": ppk(a),
                "ppk_after": ppk(b),
                "in_control_before": a.in_control,
                "in_control_after": b.in_control,
            }
        )
    return out


def compare_table(items: Sequence[Comparison]) -> str:
    head = (
        "target",
        "metric",
        "session",
        "median",
        "change [95% CI]",
        "p95 change [95% CI]",
        "p-value",
        "Ppk",
        "in control",
    )
    body = []
    for c in items:
        u = c.unit
        m, p = c.median_change, c.p95_change
        body.append(
            (
                c.target,
                c.metric,
                f"{c.before_session} -> {c.after_session}",
                f"{number(c.before.percentiles['p50'].value, u)} -> "
                f"{number(c.after.percentiles['p50'].value, u)}",
                f"{signed(m.value, u)} [{signed(m.low, u)}, {signed(m.high, u)}]",
                f"{signed(p.value, u)} [{signed(p.low, u)}, {signed(p.high, u)}]",
                f"{c.test.p_value:.2g}{' *' if c.significant else ''}",
                f"{number(ppk(c.before))} -> {number(ppk(c.after))}",
                f"{verdict(c.before.in_control)} / {verdict(c.after.in_control)}",
            )
        )
    return render(head, body) + "\n* significant at p < 0.05 (Mann-Whitney U, two-sided)"


def signed(value: float, unit: str) -> str:
    text = number(value, unit)
    return text if text.startswith("-") else f"+{text}"


def trend_rows(rows: Iterable[TrendRow]) -> list[dict[str, object]]:
    out = []
    for r in rows:
        s, cap = r.summary, r.summary.capability
        out.append(
            {
                "session": r.session,
                "start": r.start,
                "metric": r.metric,
                "unit": r.unit,
                "points": s.series.values.size,
                "median": s.percentiles["p50"].value,
                "p95": s.percentiles["p95"].value,
                "cpk": cap.cpk if cap else None,
                "ppk": cap.ppk if cap else None,
                "in_control": s.in_control,
            }
        )
    return out


def trend_table(rows: Sequence[TrendRow]) -> str:
    head = ("session", "start", "metric", "points", "median", "p95", "Cpk", "Ppk", "in control")
    body = [
        (
            r.session,
            r.start,
            r.metric,
            str(r.summary.series.values.size),
            number(r.summary.percentiles["p50"].value, r.unit),
            number(r.summary.percentiles["p95"].value, r.unit),
            number(r.summary.capability.cpk if r.summary.capability else None),
            number(ppk(r.summary)),
            verdict(r.summary.in_control),
        )
        for r in rows
    ]
    return render(head, body)


def summary_table(summaries: Iterable[SeriesSummary]) -> str:
    head = (
        "target",
        "metric",
        "points",
        "median [95% CI]",
        "p95 [95% CI]",
        "Ppk",
        "flagged",
        "in control",
    )
    body = []
    for s in summaries:
        u, p50, p95 = s.spec.unit, s.percentiles["p50"], s.percentiles["p95"]
        body.append(
            (
                s.series.target,
                s.series.metric,
                str(s.series.values.size),
                f"{number(p50.value, u)} [{number(p50.low, u)}, {number(p50.high, u)}]",
                f"{number(p95.value, u)} [{number(p95.low, u)}, {number(p95.high, u)}]",
                number(ppk(s)),
                str(int(s.flags.any(axis=0).sum())),
                verdict(s.in_control),
            )
        )
    return render(head, body)


def estimate(e: Estimate, digits: str = ".3g") -> str:
    return f"{e.value:{digits}} [{e.low:{digits}}, {e.high:{digits}}]"


def energy_table(rows: Iterable[tuple[str, EnergySummary | None, str | None]]) -> str:
    """Per target: energy per probe, per 1,000 output tokens and its CO2e; or why none."""
    head = (
        "target",
        "probes",
        "J/probe [95% CI]",
        "Wh/1k output tokens [95% CI]",
        "total Wh/1k",
        "gCO2e/1k tokens [95% CI]",
    )
    body, notes = [], []
    for target, e, why in rows:
        if e is None:
            notes.append(f"{target}: energy {why}")
            continue
        body.append(
            (
                target,
                str(e.probes),
                estimate(e.joules_per_probe),
                estimate(e.wh_per_1k),
                number(e.total_wh_per_1k),
                estimate(e.g_per_1k) if e.g_per_1k is not None else "- (no --carbon-intensity)",
            )
        )
    return "\n".join(([render(head, body)] if body else []) + notes)


def energy_change_table(changes: Iterable[EnergyChange]) -> str:
    head = ("target", "session", "median Wh/1k tokens", "change [95% CI]", "p-value")
    body = [
        (
            c.target,
            f"{c.before.session} -> {c.after.session}",
            f"{number(c.before.wh_per_1k.value)} -> {number(c.after.wh_per_1k.value)}",
            f"{c.change.value:+.3g} [{c.change.low:+.3g}, {c.change.high:+.3g}]",
            f"{c.test.p_value:.2g}" + (" *" if c.significant else ""),
        )
        for c in changes
    ]
    return render(head, body) if body else ""


def render(head: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in (head, *body)) for i in range(len(head))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (head, *body)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
