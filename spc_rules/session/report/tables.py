"""The report's tables: a series' figures, and the comparison of sessions."""

from __future__ import annotations

import html
from collections.abc import Sequence

from spc_rules.session import compare as cmp
from spc_rules.session import table
from spc_rules.session.stats import Estimate
from spc_rules.session.summary import SeriesSummary


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def figures_html(s: SeriesSummary) -> str:
    u = s.spec.unit
    cells: list[tuple[str, str]] = [
        ("points", str(s.series.values.size)),
        ("observations", f"{s.series.sizes.sum():g}"),
    ]
    for name in ("p50", "p95", "p99"):
        e = s.percentiles[name]
        cells.append(
            (
                name,
                f"{table.number(e.value, u)} [{table.number(e.low, u)}, {table.number(e.high, u)}]",
            )
        )
    if s.limits is not None:
        cells += [
            ("center", table.number(s.limits.center_line, u)),
            ("LCL", table.number(s.limits.lcl, u)),
            ("UCL", table.number(s.limits.ucl, u)),
        ]
    else:
        cells.append(("limits", "too few points"))
    cap = s.capability
    for name in ("cp", "cpk", "pp", "ppk"):
        value = getattr(cap, name) if cap is not None else None
        cells.append(
            (
                name.capitalize() if len(name) == 2 else name[0].upper() + name[1:],
                table.number(value),
            )
        )
    cells.append(("USL / LSL", f"{table.number(s.spec.usl, u)} / {table.number(s.spec.lsl, u)}"))
    flagged = ", ".join(f"{r}: {n}" for r, n in s.rule_counts().items() if n) or "none"
    cells.append(("flags by rule", flagged))
    verdict = {None: "-", True: "yes", False: '<span class="no">NO</span>'}[s.in_control]
    head = "".join(f"<th>{_e(k)}</th>" for k, _ in cells) + "<th>in control</th>"
    body = "".join(f"<td>{_e(v)}</td>" for _, v in cells) + f"<td>{verdict}</td>"
    return f"<table><tr>{head}</tr><tr>{body}</tr></table>"


def compare_html(items: Sequence[cmp.Comparison]) -> str:
    head = (
        "target",
        "metric",
        "sessions",
        "median",
        "median change [95% CI]",
        "p95",
        "p95 change [95% CI]",
        "p-value",
        "Ppk",
        "in control",
    )
    out = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    n = table.number
    for c in items:
        u, a, b = c.unit, c.before, c.after
        cells = (
            c.target,
            c.metric,
            f"{c.before_session} → {c.after_session}",
            f"{n(a.percentiles['p50'].value, u)} → {n(b.percentiles['p50'].value, u)}",
            _change(c.median_change, u),
            f"{n(a.percentiles['p95'].value, u)} → {n(b.percentiles['p95'].value, u)}",
            _change(c.p95_change, u),
            f"{c.test.p_value:.2g}" + (" (significant)" if c.significant else ""),
            f"{n(table.ppk(a))} → {n(table.ppk(b))}",
            f"{table.verdict(a.in_control)} / {table.verdict(b.in_control)}",
        )
        out.append("<tr>" + "".join(f"<td>{_e(x)}</td>" for x in cells) + "</tr>")
    out.append(
        "</table><p class='note'>Mann-Whitney U, two-sided; significant: p &lt; "
        f"{cmp.ALPHA:g}. Changes are later minus first session.</p>"
    )
    return "".join(out)


def _change(e: Estimate, unit: str) -> str:
    sign = table.signed
    return f"{sign(e.value, unit)} [{sign(e.low, unit)}, {sign(e.high, unit)}]"
