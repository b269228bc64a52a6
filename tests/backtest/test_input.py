"""Bad input gets one line naming the file, line and column, and exit code 2; a CSV becomes
exactly the counters the exporter would have stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from spc_rules.backtest.counters import stored_series
from spc_rules.backtest.csvinput import read_csv
from spc_rules.backtest.failurechart import with_failure_chart
from spc_rules.cli import main
from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.query.points import chart_points
from testkit.realservers import free_port
from tests.backtest.fleets import CHARTS, METRIC

GOOD = "timestamp,metric,value,error,target\n"


def _run(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    (tmp_path / "charts.yml").write_text(CHARTS)
    (tmp_path / "in.csv").write_text(text)
    code = main(
        [
            "backtest",
            "--config.file",
            str(tmp_path / "charts.yml"),
            "--csv",
            str(tmp_path / "in.csv"),
        ]
    )
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "timestamp,value,target\n1,2,a\n",
            "in.csv:1: missing column metric (expected timestamp, metric, value, optional "
            "error, then label columns)",
        ),
        (
            "time,metric,target\n1,m,a\n",
            "in.csv:1: missing columns timestamp, value (expected timestamp, metric, value, "
            "optional error, then label columns)",
        ),
        (
            GOOD + f"1780000000,{METRIC},0.5,,a\nyesterday,{METRIC},0.5,,a\n",
            'in.csv:3: column timestamp: "yesterday" is not a time (Unix seconds, or RFC 3339 '
            "with a zone such as 2026-05-01T10:00:00Z)",
        ),
        (
            GOOD + f"2026-05-01T10:00:00,{METRIC},0.5,,a\n",
            'in.csv:2: column timestamp: "2026-05-01T10:00:00" is not a time (Unix seconds, or '
            "RFC 3339 with a zone such as 2026-05-01T10:00:00Z)",
        ),
        (
            GOOD + f"1780000000,{METRIC},fast,,a\n",
            'in.csv:2: column value: "fast" is not a number',
        ),
        (
            GOOD + f"1780000000,{METRIC},-1,,a\n",
            'in.csv:2: column value: "-1" is not a finite number >= 0 (durations, token counts '
            "and rates are)",
        ),
        (
            GOOD + f"1780000000,{METRIC},,,a\n",
            "in.csv:2: column value: empty, and no error (a failed probe names its failure "
            "reason in the error column)",
        ),
        (
            GOOD + f"1780000000,{METRIC},1,,a,extra\n",
            "in.csv:2: expected 5 fields, found 6",
        ),
        (
            GOOD + "1780000000,not a metric,1,,a\n",
            'in.csv:2: column metric: "not a metric" is not a metric name',
        ),
        (
            "timestamp,metric,value,error_type\n",
            'in.csv:1: column 4: "error_type" is the failure reason label: put failure '
            "reasons in the error column",
        ),
        (
            "timestamp,metric,value,my-label\n",
            'in.csv:1: column 4: "my-label" is not a usable label name',
        ),
        (GOOD, "in.csv:2: no rows after the header"),
        (
            "",
            "in.csv:1: empty file: expected a header row (timestamp, metric, value, optional "
            "error, then label columns)",
        ),
    ],
)
def test_bad_csv_is_one_line_naming_file_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, error: str
) -> None:
    code, err = _run(tmp_path, text, capsys)
    assert code == 2
    assert err == f"llmscope-spc backtest: config error: {tmp_path / error}\n"
    assert "Traceback" not in err


def test_a_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "charts.yml").write_text(CHARTS)
    code = main(
        [
            "backtest",
            "--config.file",
            str(tmp_path / "charts.yml"),
            "--csv",
            str(tmp_path / "no.csv"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(
        f"llmscope-spc backtest: config error: {tmp_path / 'no.csv'}: cannot read:"
    )
    assert err.count("\n") == 1


def test_prometheus_flags_need_a_range(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["backtest", "--prometheus.url", "http://127.0.0.1:9", "--start", "100"])
    assert stop.value.code == 2
    assert "--prometheus.url needs --start and --end" in capsys.readouterr().err


def test_rows_become_the_exporters_counters_in_any_order(tmp_path: Path) -> None:
    # Unsorted rows, RFC 3339 and Unix seconds, two probes in one millisecond (one scrape,
    # a subgroup of 2), failed probes with their reason.
    path = tmp_path / "in.csv"
    path.write_text(
        "timestamp,metric,value,error,target,vantage\n"
        f"1780000030,{METRIC},2.0,,a,eu\n"
        f"2026-05-28T20:26:40Z,{METRIC},1.0,,a,eu\n"
        f"1780000060.0004,{METRIC},,dns,a,eu\n"
        f"1780000045,{METRIC},3.0,,a,eu\n"
        f"1780000045,{METRIC},5.0,,a,eu\n"
        f"1780000075,{METRIC},,dns,a,\n"
    )
    probes = read_csv(path)
    stored = stored_series(probes, "error_type")
    by_labels = {tuple(sorted(s.labels.items())): s for s in stored}
    ok = by_labels[(("__name__", f"{METRIC}_sum"), ("target", "a"), ("vantage", "eu"))]
    assert ok.timestamps.tolist() == [1779999999.999, 1780000000.0, 1780000030.0, 1780000045.0]
    assert ok.values.tolist() == [0.0, 1.0, 3.0, 11.0]
    failed = by_labels[
        (("__name__", f"{METRIC}_count"), ("error_type", "dns"), ("target", "a"), ("vantage", "eu"))
    ]
    assert failed.timestamps.tolist() == [1780000059.999, 1780000060.0]
    assert failed.values.tolist() == [0.0, 1.0]
    # A failed probe is never a latency observation, with or without error_type="".
    assert not any(
        s.labels.get("error_type") and s.labels["__name__"].endswith("_sum") for s in stored
    )
    points = chart_points(stored, METRIC, ("target", "vantage"))
    got = points[("a", "eu")]
    assert got.values.tolist() == [1.0, 2.0, 4.0]
    assert got.sizes.tolist() == [1.0, 1.0, 2.0]
    info = [s.labels for s in stored if s.labels["__name__"] == "llmscope_target_info"]
    assert {"target": "a", "vantage": "eu", "__name__": "llmscope_target_info"} in info

    config = with_failure_chart(load_text(CHARTS, "charts.yml"), CHARTS, probes)
    chart = config.charts[-1]
    assert config.incidents.failures == chart.name == "probe_errors"
    assert chart.by == ("target", "vantage") and chart.proportion is not None
    assert chart.proportion.numerator.text() == f'{METRIC}_count{{error_type!=""}}'
    assert chart.proportion.denominator.text() == f"{METRIC}_count"


def test_an_unreachable_prometheus_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code = main(
        ["backtest", "--prometheus.url", url, "--start", "1780000000", "--end", "1780003600"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("llmscope-spc backtest: cannot read ") and f"from {url}: connect" in err
    assert err.count("\n") == 1 and "Traceback" not in err
