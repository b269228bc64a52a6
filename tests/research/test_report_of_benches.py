"""Issue 26's "done when": two bench sessions of the built-in simulated targets and
``session report A B``: the sustainability section says energy was not measured for the
simulated targets, and ECDF figures compare the two sessions."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.research.browser import drawn_charts, open_page
from tests.research.support import exporter, spc

TARGETS = ("simulated-large", "simulated-small")


def test_a_report_of_two_benches_has_the_energy_section_and_the_ecdfs(tmp_path: Path) -> None:
    for name in ("A", "B"):
        bench = exporter(
            "bench", "--probes", "10", "--concurrency", "8", "--out", str(tmp_path / name)
        )
        assert bench.returncode == 0, bench.stderr
    out = tmp_path / "report"
    result = spc("session", "report", str(tmp_path / "A"), str(tmp_path / "B"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = (out / "report.html").read_text()
    section = text[text.index('<h2 id="sustainability">') : text.index("<h2>Session A</h2>")]
    assert re.findall(r"<li>(.*?)</li>", section) == [
        f"{t}: energy not measured: simulated target: no hardware energy" for t in TARGETS
    ]
    found = re.search(r"for \(const \[id, figure\] of (\[.*\])\) \{", text, re.DOTALL)
    assert found is not None
    figures = dict(json.loads(found.group(1).replace("<\\/", "</")))
    for target in TARGETS:
        ecdf = figures[f"compare-{target}-duration-ecdf"]
        assert [t["name"] for t in ecdf["data"]] == ["A", "B"]
        assert "B vs A: median" in ecdf["layout"]["annotations"][0]["text"]
    page = open_page(out / "report.html", tmp_path / "shot.png")
    assert page.console == []
    drawn = drawn_charts(page)
    assert "compare-simulated-small-duration-ecdf" in drawn and min(drawn.values()) > 0
