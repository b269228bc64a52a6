"""``llmscope-exporter bench``: the session folder it writes, through the exporter's providers."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exporter.bench.progress import Progress
from exporter.bench.records import config_digest
from exporter.configfile import load_text
from servicekit.sessionformat import POINT_COLUMNS, PROBE_COLUMNS
from servicekit.version import VERSION
from testkit.fakeserver import serving_in_thread
from testkit.openai_fake import always, stream_script
from tests.research.support import exporter, fast_config, one_line

STEP_AT = 15  # the slowed target's medians grow 1.6x from this probe on


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bench")
    config = fast_config(folder, "cfg.yml", slowdown=True, seeds=(11, 12))
    config.write_text(
        config.read_text().replace("factor: 1.6}", f"factor: 1.6, after_probes: {STEP_AT}}}")
    )
    out = folder / "session"
    result = exporter(
        "bench",
        "--config.file",
        str(config),
        "--probes",
        "30",
        "--concurrency",
        "3",
        "--out",
        str(out),
        "--usl",
        "duration=250ms",
    )
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stderr and "(60 probes, 0 failed)" in result.stderr
    assert "steady" in result.stdout  # the summary table of llmscope-spc session summarize
    return out


def test_probes_csv_holds_every_probe_in_probe_order(session: Path) -> None:
    with (session / "probes.csv").open() as f:
        assert tuple(next(csv.reader(f))) == PROBE_COLUMNS
    probes = rows(session / "probes.csv")
    assert len(probes) == 60
    for name in ("steady", "slowed"):
        mine = [p for p in probes if p["target"] == name]
        assert len(mine) == 30
        times = [float(p["time"]) for p in mine]
        assert times == sorted(times)
        for p in mine:
            assert p["error"] == "" and p["chunks"] == "8" and p["output_tokens"] == "8"
            assert float(p["ttft_seconds"]) < float(p["duration_seconds"])
            assert float(p["gap_p50_seconds"]) <= float(p["gap_max_seconds"])
            assert p["cost_usd"] == ""  # a simulated model has no price: no cost, not zero


def test_points_are_those_the_sidecar_would_rebuild(session: Path) -> None:
    with (session / "points.csv").open() as f:
        assert tuple(next(csv.reader(f))) == POINT_COLUMNS
    points = rows(session / "points.csv")
    probes = rows(session / "probes.csv")
    metrics = {p["metric"] for p in points}
    assert metrics == {
        "duration",
        "time_to_first_chunk",
        "time_per_output_chunk",
        "output_tokens_per_second",
    }
    for name in ("steady", "slowed"):
        mine = [p for p in probes if p["target"] == name]

        def of(metric: str, target: str = name) -> list[dict[str, str]]:
            return [p for p in points if p["target"] == target and p["metric"] == metric]

        # One point per probe, in probe order, as scraping after every probe would give.
        assert [float(p["value"]) for p in of("duration")] == [
            float(p["duration_seconds"]) for p in mine
        ]
        assert [float(p["value"]) for p in of("time_to_first_chunk")] == [
            float(p["ttft_seconds"]) for p in mine
        ]
        gaps = of("time_per_output_chunk")  # the mean of a probe's 7 gaps, size 7
        assert {p["size"] for p in gaps} == {"7"}
        assert [float(p["value"]) for p in gaps] == pytest.approx(
            [float(p["gap_mean_seconds"]) for p in mine]
        )


def test_metadata_names_targets_config_versions_machine_and_times(session: Path) -> None:
    meta = json.loads((session / "metadata.json").read_text())
    assert meta["kind"] == "bench"
    assert [t["name"] for t in meta["targets"]] == ["steady", "slowed"]
    assert meta["config"]["digest"].startswith("sha256:")
    assert meta["versions"]["llmscope"] == VERSION
    assert meta["machine"]["hostname"]
    assert meta["start"] <= meta["end"]
    assert meta["bench"] == {"probes_per_target": 30, "concurrency": 3}
    assert meta["metrics"]["duration"] == {"unit": "seconds", "usl": 0.25, "lsl": None}


def test_summary_has_intervals_capability_and_rule_flags_in_probe_order(session: Path) -> None:
    summary = json.loads((session / "summary.json").read_text())
    steady = summary["targets"]["steady"]
    assert steady["probes"] == 30 and steady["errors"] == {}
    duration = steady["metrics"]["duration"]
    for p in ("p50", "p90", "p95", "p99"):
        est = duration["percentiles"][p]
        assert est["low"] <= est["value"] <= est["high"]
    assert duration["capability"]["ppk"] > 0
    assert set(duration["rules"]) == {str(r) for r in range(1, 9)}
    # The step half-way through the run is a run of points on each side of the center.
    slowed = summary["targets"]["slowed"]["metrics"]["duration"]
    assert slowed["rules"]["2"] > 0
    assert slowed["in_control"] is False


def test_config_digest_ignores_comments_and_sees_settings() -> None:
    text = "targets:\n  - {name: a, provider: simulated, model: m, ttft: 20ms}\n"
    base = load_text(text, "a.yml", {})
    commented = load_text("# a comment\n" + text, "b.yml", {})
    changed = load_text(text.replace("20ms", "30ms"), "a.yml", {})
    digest = config_digest(base, base.targets)
    assert digest == config_digest(commented, commented.targets)
    assert digest != config_digest(changed, changed.targets)


def test_an_http_provider_goes_through_the_exporter_harness(tmp_path: Path) -> None:
    secret = "sk-bench-secret-4242"
    script = stream_script(["1", " 2", " 3"], ttft=0.05, gap=0.01, usage=(12, 5))
    with serving_in_thread(always(script)) as server:
        config = tmp_path / "oa.yml"
        config.write_text(
            "targets:\n  - name: oa\n    provider: openai\n    model: gpt-4o-mini\n"
            f"    base_url: {server.url}/v1\n    api_key_env: BENCH_KEY\n"
        )
        out = tmp_path / "s"
        result = exporter(
            "bench",
            "--config.file",
            str(config),
            "--probes",
            "4",
            "--out",
            str(out),
            env={"BENCH_KEY": secret},
        )
    assert result.returncode == 0, result.stderr
    probes = rows(out / "probes.csv")
    assert len(probes) == 4
    for p in probes:
        assert p["error"] == "" and p["status"] == "200" and p["chunks"] == "3"
        assert (p["input_tokens"], p["output_tokens"], p["tokens_estimated"]) == (
            "12",
            "5",
            "false",
        )
        assert float(p["ttft_seconds"]) >= 0.05
        # the shipped price of gpt-4o-mini: 0.15 and 0.60 USD per million tokens
        assert float(p["cost_usd"]) == pytest.approx((12 * 0.15 + 5 * 0.60) / 1e6)
    for file in out.iterdir():
        assert secret not in file.read_text()


def test_progress_bar_draws_on_a_terminal_and_stays_quiet_otherwise() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Terminal(), io.StringIO()
    for stream in (tty, pipe):
        bar = Progress(4, stream, clock=lambda: 0.0)
        for failed in (False, True, False, False):
            bar.advance(failed)
        bar.finish()
    assert pipe.getvalue() == ""
    last = tty.getvalue().split("\r")[-1]
    assert last == "[" + "#" * 30 + "] 4/4 probes, 1 failed, 00:00\n"
    assert "\r[#######-----------------------] 1/4 probes, 0 failed" in tty.getvalue()


def test_unknown_target_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = fast_config(tmp_path, "c.yml", slowdown=False, seeds=(1, 2))
    result = exporter(
        "bench", "--config.file", str(config), "--target", "nope", "--out", str(tmp_path / "s")
    )
    assert result.returncode == 2
    assert one_line(result) == (
        "llmscope-exporter bench: config error: unknown target nope "
        "(the configuration has: steady, slowed)"
    )
    assert not (tmp_path / "s").exists()


def test_a_used_session_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "keep.txt").write_text("mine")
    result = exporter("bench", "--probes", "1", "--out", str(tmp_path / "s"))
    assert result.returncode == 1
    assert one_line(result) == (
        f"llmscope-exporter bench: {tmp_path / 's'} is not an empty folder: "
        "give a new session folder"
    )


def test_the_exporter_without_bench_still_takes_its_flags(tmp_path: Path) -> None:
    config = fast_config(tmp_path, "c.yml", slowdown=False, seeds=(1, 2))
    result = exporter("--config.file", str(config), "--config.check")
    assert result.returncode == 0
    assert "valid, 2 targets" in result.stdout


def test_ctrl_c_keeps_the_probes_that_finished(tmp_path: Path) -> None:
    config = fast_config(tmp_path, "c.yml", slowdown=False, seeds=(1, 2))
    config.write_text(config.read_text().replace("ttft: 20ms", "ttft: 200ms"))
    out = tmp_path / "s"
    args = ["bench", "--config.file", str(config), "--probes", "200", "--out", str(out)]
    process = subprocess.Popen(
        [sys.executable, "-m", "exporter", *args], stderr=subprocess.PIPE, text=True
    )
    while not out.exists() and process.poll() is None:
        time.sleep(0.05)
    time.sleep(1.5)  # some probes finish
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in err
    kept = rows(out / "probes.csv")
    assert 0 < len(kept) < 400
    assert f"interrupted, wrote {out} ({len(kept)} probes" in err
