"""``session report``: one self-contained HTML file, the points as CSV, and PNGs on request.

The page embeds plotly.js from the ``plotly`` package (nothing is fetched when it opens), then
per session and series a control chart (zones, center, limits, flagged points named on hover),
a histogram with the spec limits and a table of the figures; with several sessions the
comparison of ``session compare`` comes first.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from pathlib import Path
from string import Template

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from servicekit.sessionformat import write_rows
from servicekit.version import VERSION
from spc_rules.session import compare as cmp
from spc_rules.session.report import png as png_export
from spc_rules.session.report import sustainability
from spc_rules.session.report.figures import ChartData, chart_data, control_figure, histogram_figure
from spc_rules.session.report.sidebyside import box_figure, ecdf_figure, side_by_side
from spc_rules.session.report.tables import compare_html, figures_html
from spc_rules.session.store import Session, SessionError
from spc_rules.session.summary import VERDICT_RULES, summarize

REPORT_FILE = "report.html"
POINTS_FILE = "points.csv"
POINT_COLUMNS = (
    "session",
    "target",
    "metric",
    "index",
    "time",
    "value",
    "size",
    "center",
    "lcl",
    "ucl",
    "z",
    "rules",
)
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}

_PAGE = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1280px;
       padding: 0 16px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 36px; border-bottom: 1px solid #ccc; }
h3 { font-size: 15px; margin: 24px 0 4px; }
table { border-collapse: collapse; font-size: 12.5px; margin: 6px 0 12px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; } .no { color: #cc0000; font-weight: 600; }
.row { display: flex; gap: 12px; flex-wrap: wrap; }
.control { flex: 3 1 560px; min-width: 0; } .hist { flex: 2 1 360px; min-width: 0; }
.half { flex: 1 1 480px; min-width: 0; }
.note { color: #666; font-size: 12.5px; }
</style>
<script>$plotly</script>
</head><body>
<h1>$title</h1>
<p class="note">$note</p>
$body
<script>
// Drawn once the whole page is laid out, so every chart takes its final width.
const config = $config;
for (const [id, figure] of $figures) {
  Plotly.newPlot(id, figure.data, figure.layout, config);
}
</script>
</body></html>
""")


def write(
    sessions: Sequence[Session],
    out: Path,
    *,
    target: str | None = None,
    metric: str | None = None,
    png: bool = False,
    carbon_intensity: float | None = None,
) -> list[Path]:
    """Write report.html and points.csv (and png/*.png) into ``out``; returns the paths.
    ``carbon_intensity`` (gCO2e/kWh) replaces the sessions' own for grams per 1,000 tokens."""
    parts: list[str] = []
    figures: list[str] = []

    def chart(fig: go.Figure, div_id: str) -> str:
        figures.append(f"[{json.dumps(div_id)}, {fig.to_json()}]")
        return f'<div id="{div_id}" class="chart"></div>'

    rows: list[dict[str, object]] = []
    written: list[Path] = []
    png_dir = out / "png"
    if png:
        png_dir.mkdir(exist_ok=True)
    if len(sessions) > 1:
        comparison = cmp.compare(sessions, target, metric)
        parts.append("<h2>Comparison</h2>" + compare_html(comparison))
        for sb in side_by_side(comparison):
            slug = _slug(sb.slug)
            parts.append(
                f'<h3 id="{slug}">{_e(sb.title)}: side by side</h3><div class="row">'
                f'<div class="half">{chart(ecdf_figure(sb), slug + "-ecdf")}</div>'
                f'<div class="half">{chart(box_figure(sb), slug + "-box")}</div></div>'
            )
            if png:
                for kind, draw_sb in (("ecdf", png_export.ecdf_png), ("box", png_export.box_png)):
                    written.append(png_dir / f"{slug}-{kind}.png")
                    draw_sb(sb, written[-1])
    energy = sustainability.build(sessions, target, carbon_intensity)
    parts.append(sustainability.section_html(energy, chart))
    if png and energy.points:
        written.append(png_dir / "energy-latency.png")
        png_export.energy_png(energy.points, written[-1])
    for session in sessions:
        keys = _keys(session, target, metric)
        parts.append(f"<h2>Session {_e(session.name)}</h2>{_session_note(session)}")
        for key in keys:
            s = summarize(session.series[key], session.metrics[key[1]])
            c = chart_data(s)
            anchor = _slug(f"{session.name}-{key[0]}-{key[1]}")
            parts.append(
                f'<h3 id="{anchor}">{_e(c.title)}</h3><div class="row">'
                f'<div class="control">{chart(control_figure(c), anchor + "-control")}</div>'
                f'<div class="hist">{chart(histogram_figure(c), anchor + "-histogram")}</div>'
                f"</div>{figures_html(s)}"
            )
            rows.extend(_point_rows(session.name, c))
            if png:
                for kind, draw in (
                    ("control", png_export.control_png),
                    ("histogram", png_export.histogram_png),
                ):
                    path = png_dir / f"{anchor}-{kind}.png"
                    draw(c, path)
                    written.append(path)
    names = ", ".join(s.name for s in sessions)
    page = _PAGE.substitute(
        title=_e(f"LLMscope session report: {names}"),
        plotly=get_plotlyjs(),
        note=_e(
            f"LLMscope {VERSION}. Limits: phase I fit on each session's own points; in control: "
            f"no point flagged by rules {', '.join(map(str, VERDICT_RULES))}. Hover a point for "
            "its time, subgroup size, z and the rules that flagged it."
        ),
        body="\n".join(parts),
        config=json.dumps(_PLOT_CONFIG),
        # "</" inside a script would end it early: JSON may write it as "<\/" instead.
        figures="[" + ",\n".join(figures).replace("</", "<\\/") + "]",
    )
    report = out / REPORT_FILE
    report.write_text(page, encoding="utf-8")
    points = out / POINTS_FILE
    write_rows(points, POINT_COLUMNS, rows)
    return [report, points, *written]


def _keys(session: Session, target: str | None, metric: str | None) -> list[tuple[str, str]]:
    if target is not None and target not in session.targets:
        raise SessionError(
            f"unknown target {target} (session {session.name} holds: {', '.join(session.targets)})"
        )
    if metric is not None and metric not in session.metric_names:
        raise SessionError(
            f"unknown metric {metric} (session {session.name} holds: "
            f"{', '.join(session.metric_names)})"
        )
    return [
        k
        for k in session.series
        if (target is None or k[0] == target) and (metric is None or k[1] == metric)
    ]


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def _session_note(session: Session) -> str:
    kind = session.metadata.get("kind", "session")
    start = session.metadata.get("start")
    end = session.metadata.get("end")
    span = ""
    if isinstance(start, int | float) and isinstance(end, int | float):
        span = f", {cmp.utc(start)} to {cmp.utc(end)}"
    return f'<p class="note">{_e(str(kind))}{_e(span)}, folder {_e(str(session.path))}</p>'


def _point_rows(session: str, c: ChartData) -> list[dict[str, object]]:
    lines = c.lines
    return [
        {
            "session": session,
            "target": c.target,
            "metric": c.metric,
            "index": i + 1,
            "time": c.times[i],
            "value": float(c.values[i]),
            "size": float(c.sizes[i]),
            "center": float(lines[0][i]) if lines else None,
            "lcl": float(lines[-3][i]) if lines else None,
            "ucl": float(lines[3][i]) if lines else None,
            "z": float(c.z[i]),
            "rules": " ".join(map(str, c.flags[i])),
        }
        for i in range(c.values.size)
    ]
