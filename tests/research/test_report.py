"""``session report``: one offline HTML file, checked in a real headless Chromium, with the
points as CSV and the charts as PNG."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from servicekit.sessionformat import Point
from spc_rules.session.report.figures import MODEBAR_BOTTOM
from tests.research.browser import drawn_charts, open_page, pixel_spread, title_tops
from tests.research.support import one_line, spc, write_session

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
METRICS: dict[str, dict[str, object]] = {
    "duration": {"unit": "seconds", "usl": 0.6, "lsl": None},
    "time_to_first_chunk": {"unit": "seconds", "usl": None, "lsl": None},
}
OUTLIER = 24  # index of the point ten times the median in session "one"


def points(seed: int, scale: float, outlier: bool) -> list[Point]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(40):
        t = 1_700_000_000.0 + 15 * i
        duration = float(rng.lognormal(np.log(0.3 * scale), 0.15))
        if outlier and i == OUTLIER:
            duration *= 10
        out.append(Point(t, "sim", "duration", duration))
        out.append(Point(t, "sim", "time_to_first_chunk", float(rng.lognormal(np.log(0.1), 0.2))))
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    one = write_session(root / "one", points(1, 1.0, outlier=True), METRICS)
    two = write_session(root / "two", points(2, 1.4, outlier=False), METRICS, start=1.8e9)
    out = root / "out"
    result = spc("session", "report", str(one), str(two), "--out", str(out), "--png")
    assert result.returncode == 0, result.stderr
    return out


def test_the_page_loads_without_console_errors_and_every_chart_renders(
    report: Path, tmp_path: Path
) -> None:
    page = open_page(report / "report.html", tmp_path / "shot.png")
    assert page.console == []
    # 2 sessions x 2 series x (control chart + histogram), and per series the two sessions
    # side by side (ECDF + box plots), each drawn by plotly.js into a non-empty SVG.
    assert page.count("chart") == 12
    assert page.count("plot-container") == 12
    drawn = drawn_charts(page)
    assert len(drawn) == 12 and min(drawn.values()) > 0, drawn
    assert pixel_spread(page.screenshot) > 0.05
    # Every title sits below the mode bar (2 px from the top, 22 px high).
    assert len(title_tops(page)) == 12
    assert min(title_tops(page)) >= MODEBAR_BOTTOM
    # The sustainability section says, per target, why these sessions have no energy.
    assert 'id="sustainability"' in page.dom
    assert (
        "<li>sim: energy not recorded: the session predates energy measurement "
        "(session format 1)</li>" in page.dom
    )


def test_the_checks_see_a_broken_page(report: Path, tmp_path: Path) -> None:
    """Without plotly.js the same checks fail: they are not vacuous."""
    text = (report / "report.html").read_text()
    start = text.index("<script>") + len("<script>")
    broken = tmp_path / "broken.html"
    broken.write_text(text[:start] + text[text.index("</script>", start) :])
    page = open_page(broken, tmp_path / "broken.png")
    assert any("Plotly is not defined" in line for line in page.console)
    assert page.count("plot-container") == 0
    assert set(drawn_charts(page).values()) == {0}
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    assert pixel_spread(open_page(blank, tmp_path / "blank.png").screenshot) < 0.01


def test_the_page_is_self_contained(report: Path) -> None:
    text = (report / "report.html").read_text()
    assert not re.search(r"<(script|img|iframe)[^>]*\bsrc=", text)
    assert not re.search(r"<link\b", text)
    assert "plotly.js v" in text[:20000]  # the library itself, embedded


def test_flagged_points_are_marked_and_named_and_zones_are_shaded(report: Path) -> None:
    text = (report / "report.html").read_text()
    found = re.search(r"for \(const \[id, figure\] of (\[.*\])\) \{", text, re.DOTALL)
    assert found is not None
    figures = json.loads(found.group(1).replace("<\\/", "</"))
    control = dict(figures)["one-sim-duration-control"]
    names = [t.get("name") for t in control["data"]]
    assert {"center", "UCL", "LCL", "points", "flagged by a rule"} <= set(names)
    fills = {t.get("fillcolor") for t in control["data"] if t.get("fill") == "tonexty"}
    assert len(fills) == 3  # zones A, B and C
    flagged = next(t for t in control["data"] if t.get("name") == "flagged by a rule")
    assert flagged["x"] == [OUTLIER + 1]
    assert "rule 1: one point beyond 3 sigma" in flagged["hovertext"][0]
    histogram = dict(figures)["one-sim-duration-histogram"]
    assert histogram["layout"]["shapes"][0]["x0"] == 0.6  # the USL
    # The comparison comes first; the capability figures follow each chart.
    assert text.index("<h2>Comparison</h2>") < text.index("<h2>Session one</h2>")
    assert "(significant)" in text and "<th>Ppk</th>" in text
    # Side by side: both sessions on one axis, the test's verdict written on the figure.
    ecdf = dict(figures)["compare-sim-duration-ecdf"]
    assert [t["name"] for t in ecdf["data"]] == ["one", "two"]
    assert [len(t["x"]) for t in ecdf["data"]] == [40, 40]
    (verdict,) = [a["text"] for a in ecdf["layout"]["annotations"]]
    assert verdict.startswith("two vs one: median +") and verdict.endswith("significant at 0.05")
    assert "]<br>Mann-Whitney p = " in verdict
    assert "not significant" not in verdict
    box = dict(figures)["compare-sim-duration-box"]
    assert [t["type"] for t in box["data"]] == ["box", "box"]
    assert box["layout"]["annotations"][0]["text"] == verdict
    assert text.index("<h2>Comparison</h2>") < text.index('id="sustainability"')


def test_points_csv_and_png_export(report: Path) -> None:
    with (report / "points.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 2 * 40
    flagged = [r for r in rows if r["rules"]]
    assert {(r["session"], r["metric"], r["index"]) for r in flagged if "1" in r["rules"]} == {
        ("one", "duration", str(OUTLIER + 1))
    }
    row = rows[0]
    assert float(row["lcl"]) < float(row["center"]) < float(row["ucl"])
    pngs = sorted((report / "png").iterdir())
    assert len(pngs) == 12
    assert {p.name for p in pngs if p.name.startswith("compare-")} == {
        f"compare-sim-{metric}-{kind}.png"
        for metric in ("duration", "time_to_first_chunk")
        for kind in ("ecdf", "box")
    }
    for png in pngs:
        assert png.read_bytes()[:8] == PNG_SIGNATURE
        assert pixel_spread(png) > 0.05


def test_an_unknown_metric_is_one_line(report: Path, tmp_path: Path) -> None:
    one = report.parent / "one"
    result = spc("session", "report", str(one), "--metric", "tokens", "--out", str(tmp_path))
    assert result.returncode == 1
    assert one_line(result) == (
        "llmscope-spc session report: unknown metric tokens "
        "(session one holds: duration, time_to_first_chunk)"
    )
