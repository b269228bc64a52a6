"""What ``llmscope-spc backtest`` prints: one JSON object a line with the documented keys,
or one readable line per incident, and a summary on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spc_rules.cli import main
from tests.backtest.fleets import CHARTS, METRIC, T0


def _failing_target(path: Path) -> Path:
    """One target probed every 15 s: 10 calm minutes, 3 minutes of DNS failures, 2 calm."""
    lines = ["timestamp,metric,value,error,target,model,endpoint,vantage"]
    for i in range(60):
        t = T0 + 15.0 * i
        failed = 40 <= i < 52
        value, error = ("", "dns") if failed else (f"{1.0 + 0.01 * (i % 7):.3f}", "")
        lines.append(f"{t},{METRIC},{value},{error},a,m,https://api.example:443,eu")
    path.write_text("\n".join(lines) + "\n")
    return path


def _backtest(tmp_path: Path, *flags: str) -> None:
    (tmp_path / "charts.yml").write_text(CHARTS)
    csv = _failing_target(tmp_path / "probes.csv")
    code = main(
        ["backtest", "--config.file", str(tmp_path / "charts.yml"), "--csv", str(csv), *flags]
    )
    assert code == 0


def test_json_lines_carry_every_documented_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _backtest(tmp_path, "--format", "json")
    out = capsys.readouterr().out.splitlines()
    found = [json.loads(line) for line in out]
    pages = [f for f in found if f["severity"] == "page"]
    assert len(pages) == 1, out
    page = pages[0]
    assert set(page) == {
        "severity",
        "scope",
        "subject",
        "incident",
        "started",
        "opened",
        "resolved",
        "members",
        "evidence",
    }
    assert (page["scope"], page["subject"], page["incident"]) == ("target", "a", "target:a")
    first_failure = T0 + 15.0 * 40
    assert first_failure <= page["started"] <= page["opened"] <= first_failure + 120
    assert page["resolved"] is not None and page["resolved"] > T0 + 15.0 * 52
    assert page["members"] == ["probe_errors{target=a,vantage=eu}"]
    assert "failing (dns" in page["evidence"]


def test_text_is_one_line_per_incident_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _backtest(tmp_path)
    got = capsys.readouterr()
    lines = got.out.splitlines()
    assert any(line.startswith("PAGE   target   a  opened 2026-05-28T20:3") for line in lines), (
        lines
    )
    assert got.err.startswith("llmscope-spc backtest: 1 page and ")
    assert "cycles run" in got.err
