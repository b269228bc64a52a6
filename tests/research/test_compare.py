"""``session compare`` and ``session trend``: a scripted slowdown is significant, an unchanged
target is not; bad sessions get one line."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from servicekit.sessionformat import Point
from tests.research.support import exporter, fast_config, one_line, spc, write_session

SECONDS = {"unit": "seconds", "usl": None, "lsl": None}


@pytest.fixture(scope="module")
def before_after(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two bench sessions of the same targets; "slowed" is 1.6x slower in the second. The
    seeds differ between sessions, so "steady" draws new, independent latencies."""
    folder = tmp_path_factory.mktemp("sessions")
    sessions = []
    for name, slowdown, seeds in (("before", False, (1, 2)), ("after", True, (3, 4))):
        config = fast_config(folder, f"{name}.yml", slowdown=slowdown, seeds=seeds)
        out = folder / name
        result = exporter(
            "bench",
            "--config.file",
            str(config),
            "--probes",
            "40",
            "--concurrency",
            "4",
            "--out",
            str(out),
            "--usl",
            "duration=120ms",
        )
        assert result.returncode == 0, result.stderr
        sessions.append(out)
    return sessions[0], sessions[1]


def compare_csv(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    with path.open(newline="") as f:
        return {(r["target"], r["metric"]): r for r in csv.DictReader(f)}


def test_the_slowdown_is_significant_and_the_unchanged_target_is_not(
    before_after: tuple[Path, Path], tmp_path: Path
) -> None:
    before, after = before_after
    result = spc("session", "compare", str(before), str(after), "--csv", str(tmp_path / "c.csv"))
    assert result.returncode == 0, result.stderr
    rows = compare_csv(tmp_path / "c.csv")
    assert len(rows) == 8  # 2 targets x 4 metrics
    slowed, steady = rows[("slowed", "duration")], rows[("steady", "duration")]
    assert float(slowed["p_value"]) < 1e-6 and slowed["significant"] == "true"
    # 1.6x the median, and the interval of the change holds it.
    assert 1.4 < float(slowed["median_after"]) / float(slowed["median_before"]) < 1.8
    assert 0 < float(slowed["median_change_low"]) <= float(slowed["median_change"])
    assert float(slowed["median_change"]) <= float(slowed["median_change_high"])
    # Durations are measured on this machine's clock, so its load between the two sessions
    # moves them a little (a p of 0.13 under CI load): the promise is "not significant".
    assert float(steady["p_value"]) > 0.05 and steady["significant"] == "false"
    assert float(steady["median_change_low"]) < 0 < float(steady["median_change_high"])
    # Capability against the SLO falls with the slowdown; both sessions were judged.
    assert float(slowed["ppk_after"]) < float(slowed["ppk_before"])
    assert {slowed["in_control_before"], slowed["in_control_after"]} <= {"true", "false"}
    # The table on stdout says the same.
    line = next(x for x in result.stdout.splitlines() if x.startswith("slowed  duration"))
    assert " *" in line and "before -> after" in line


def test_trend_shows_ppk_per_session_in_start_order(
    before_after: tuple[Path, Path], tmp_path: Path
) -> None:
    before, after = before_after
    result = spc(
        "session",
        "trend",
        str(after),
        str(before),
        "--target",
        "slowed",
        "--metric",
        "duration",
        "--csv",
        str(tmp_path / "t.csv"),
    )
    assert result.returncode == 0, result.stderr
    with (tmp_path / "t.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["session"] for r in rows] == ["before", "after"]
    assert float(rows[1]["ppk"]) < float(rows[0]["ppk"])
    body = result.stdout.splitlines()[2:]
    assert [line.split()[0] for line in body] == ["before", "after"]


def test_an_absent_or_empty_session_folder_is_one_line(tmp_path: Path) -> None:
    result = spc("session", "compare", str(tmp_path / "nowhere"), str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert one_line(result) == (
        f"llmscope-spc session compare: session folder {tmp_path / 'nowhere'} does not exist"
    )
    (tmp_path / "empty").mkdir()
    result = spc("session", "report", str(tmp_path / "empty"), "--out", str(tmp_path / "r"))
    assert one_line(result) == (
        f"llmscope-spc session report: {tmp_path / 'empty'} is not a session folder: "
        "metadata.json is missing"
    )
    header_only = write_session(tmp_path / "header-only", [], {"duration": SECONDS})
    result = spc("session", "trend", str(header_only))
    assert one_line(result) == (
        f"llmscope-spc session trend: session {header_only} holds no points "
        f"({header_only / 'points.csv'} is empty)"
    )


def test_an_unreadable_session_file_is_one_line(tmp_path: Path) -> None:
    session = write_session(
        tmp_path / "s", [Point(1.0, "a", "duration", 0.5)], {"duration": SECONDS}
    )
    (session / "points.csv").write_bytes(b"\xff\xfe\x00garbage")
    result = spc("session", "compare", str(session), str(session))
    assert one_line(result) == (
        f"llmscope-spc session compare: cannot read {session / 'points.csv'}: not UTF-8 text"
    )
    (session / "points.csv").write_text("time,target,metric,value,size\n1,a,duration,fast,1\n")
    result = spc("session", "compare", str(session), str(session))
    assert one_line(result) == (
        f"llmscope-spc session compare: {session / 'points.csv'}:2: "
        "time, value and size must be numbers"
    )


def _stable(metric: str, target: str = "a") -> list[Point]:
    values = np.random.default_rng(5).lognormal(np.log(0.3), 0.2, 30)
    return [Point(1000.0 + i, target, metric, float(v)) for i, v in enumerate(values)]


def test_sessions_of_different_metrics_are_one_line(tmp_path: Path) -> None:
    ttft = write_session(
        tmp_path / "ttft", _stable("time_to_first_chunk"), {"time_to_first_chunk": SECONDS}
    )
    duration = write_session(tmp_path / "dur", _stable("duration"), {"duration": SECONDS})
    result = spc("session", "compare", str(ttft), str(duration))
    assert result.returncode == 1
    assert one_line(result) == (
        "llmscope-spc session compare: sessions of different metrics, none common to all "
        "(ttft: time_to_first_chunk; dur: duration)"
    )


def test_an_unknown_target_is_one_line(tmp_path: Path) -> None:
    one = write_session(tmp_path / "one", _stable("duration"), {"duration": SECONDS})
    two = write_session(tmp_path / "two", _stable("duration"), {"duration": SECONDS})
    for command in ("compare", "trend"):
        result = spc("session", command, str(one), str(two), "--target", "zz")
        assert result.returncode == 1
        assert one_line(result) == (
            f"llmscope-spc session {command}: unknown target zz (sessions hold: a)"
        )
