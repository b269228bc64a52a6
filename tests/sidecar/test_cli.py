"""``llmscope-spc`` as users run it: flags, exit codes, /metrics that promtool accepts, a real
Prometheus stopped and started again under it, and reloads by HTTP and SIGHUP."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from testkit.backends import backfilled_prometheus
from testkit.realservers import PROMTOOL, free_port, http_get, require
from tests.sidecar.data import LATENCY_CHART, generate, openmetrics
from tests.sidecar.expected import Labels, labels, parse

ROOT = Path(__file__).resolve().parents[2]
CHART = (
    LATENCY_CHART
    + """    usl: 3s
    lsl: 10ms
    ewma: true
    cusum: true
"""
)
CONFIG = f"global: {{lookback: 1m}}\ncharts:{CHART}"
Metrics = dict[tuple[str, Labels], float]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spc_rules", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_config_check_accepts_the_builtin_and_example_configs() -> None:
    builtin = _cli("--config.check")
    assert (builtin.returncode, builtin.stdout) == (0, "built-in default: valid, 8 charts\n")
    example = _cli("--config.check", "--config.file", "examples/spc.yml")
    assert (example.returncode, example.stdout) == (0, "examples/spc.yml: valid, 5 charts\n")


def test_config_check_says_1_chart(tmp_path: Path) -> None:
    one = tmp_path / "spc.yml"
    one.write_text("charts:\n  - {name: a, metric: m}\n")
    result = _cli("--config.check", "--config.file", str(one))
    assert (result.returncode, result.stdout) == (0, f"{one}: valid, 1 chart\n")


def test_a_bad_config_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    bad = tmp_path / "spc.yml"
    bad.write_text("charts:\n  - name: a\n    metric: m_sum\n    hold: soon\n")
    result = _cli("--config.check", "--config.file", str(bad))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"llmscope-spc: config error: {bad}:3: charts[0].metric: name the histogram, not its "
        'series: "m" (the sidecar reads its _sum and _count itself)',
        f'llmscope-spc: config error: {bad}:4: charts[0].hold: bad duration "soon" (use e.g. '
        "250ms, 15s, 1m30s, 2h)",
    ]


def test_bad_flags_exit_2_naming_the_flag() -> None:
    interval = _cli("--spc.interval", "often")
    assert interval.returncode == 2
    assert "argument --spc.interval: bad duration" in interval.stderr.splitlines()[-1]
    url = _cli("--prometheus.url", "localhost:9090")
    assert url.returncode == 2
    assert "is not an http:// or https:// URL" in url.stderr.splitlines()[-1]
    assert "Traceback" not in interval.stderr + url.stderr


@contextmanager
def _sidecar(config: Path, prometheus_url: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spc_rules",
            "--config.file",
            str(config),
            "--prometheus.url",
            prometheus_url,
            "--web.listen-address",
            f"127.0.0.1:{port}",
            "--spc.interval",
            "1s",
        ],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(20)
        if process.stderr is not None:
            process.stderr.close()


def _metrics(url: str) -> Metrics:
    return parse(http_get(f"{url}/metrics").decode())


def _until(url: str, check: Callable[[Metrics], bool], timeout: float = 60.0) -> Metrics:
    deadline = time.monotonic() + timeout
    last: Metrics = {}
    while time.monotonic() < deadline:
        try:
            last = _metrics(url)
            if check(last):
                return last
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"condition not met within {timeout}s; last metrics: {last}")


def _up(m: Metrics) -> float | None:
    return m.get(("llmscope_spc_up", frozenset()))


def _center(m: Metrics, chart: str = "latency") -> float | None:
    return m.get(("llmscope_spc_center", labels(chart=chart, target="steady")))


def _age(m: Metrics) -> float:
    return m[("llmscope_spc_results_age_seconds", labels(chart="latency"))]


def test_sidecar_serves_stale_results_while_prometheus_is_down_then_recovers(
    tmp_path: Path,
) -> None:
    config = tmp_path / "spc.yml"
    config.write_text(CONFIG)
    fleet = generate(float(int(time.time()) - 60), scrapes=400)
    with (
        backfilled_prometheus(openmetrics(fleet)) as prom,
        _sidecar(config, prom.url) as (
            url,
            process,
        ),
    ):
        good = _until(url, lambda m: _up(m) == 1.0 and _center(m) is not None)
        text = http_get(f"{url}/metrics").decode()
        # Every family has samples here: capability on both sides, flags of every kind.
        for family in ("cp", "pp", "cpk", "ppk", "violation_last_timestamp_seconds"):
            assert f"\nllmscope_spc_{family}{{" in text, family
        lint = subprocess.run(
            [require(PROMTOOL), "check", "metrics"],
            check=False,
            input=text,
            capture_output=True,
            text=True,
        )
        assert (lint.returncode, lint.stdout, lint.stderr) == (0, "", "")

        prom.stop()
        stale = _until(url, lambda m: _up(m) == 0.0 and _age(m) >= 3.0)
        assert _center(stale) == _center(good)  # the last good results are still served
        assert stale[("llmscope_spc_query_errors_total", labels(reason="connect"))] >= 1

        prom.start()
        _until(url, lambda m: _up(m) == 1.0 and _age(m) < 3.0)

        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
        assert process.stderr is not None
        log = process.stderr.read().splitlines()
    failures = [line for line in log if "level=error" in line and "failed (" in line]
    kinds = [line.split("failed (", 1)[1].split(")", 1)[0] for line in failures]
    assert "connect" in kinds
    assert len(kinds) == len(set(kinds)), failures  # one line per kind of failure
    assert any("succeed again" in line for line in log)


def test_reload_by_http_keeps_the_old_config_on_error_and_sighup_applies_a_good_one(
    tmp_path: Path,
) -> None:
    config = tmp_path / "spc.yml"
    config.write_text(CONFIG)
    fleet = generate(float(int(time.time()) - 60), scrapes=400)
    reload_ok: tuple[str, Labels] = ("llmscope_spc_config_last_reload_successful", frozenset())
    with (
        backfilled_prometheus(openmetrics(fleet)) as prom,
        _sidecar(config, prom.url) as (
            url,
            process,
        ),
    ):
        _until(url, lambda m: _center(m) is not None)
        config.write_text("charts: [\n")
        request = urllib.request.Request(f"{url}/-/reload", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 500
        assert "invalid YAML" in refused.value.read().decode()
        after = _metrics(url)
        assert after[reload_ok] == 0.0
        assert _center(after) is not None

        config.write_text(CONFIG + CHART.replace("name: latency", "name: latency2"))
        process.send_signal(signal.SIGHUP)
        _until(url, lambda m: m[reload_ok] == 1.0 and _center(m, "latency2") is not None)
