"""Issue 12 end to end on stored data: a backfilled Prometheus holding in-control and shifted
latency series, judged by the running ``llmscope-spc`` process, publishes alarm episodes for
the shifted series only; a chart that matches nothing is reported (issue 18)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from testkit.backends import backfilled_prometheus
from testkit.realservers import free_port, http_get
from tests.sidecar.data import METRIC, openmetrics, series_of
from tests.sidecar.expected import labels, parse
from tests.sidecar.process import sidecar_process

CONFIG = f"""
charts:
  - name: latency
    metric: {METRIC}
    by: [target]
    rules: [1]
  - name: typo
    metric: no_such_histogram_seconds
    evaluation: 2s
    baseline: 10s
"""
STEP_AGO = 40 * 60.0  # the shifted series doubled 40 minutes before the newest point


def _fleet(end: float) -> tuple[str, float]:
    rng = np.random.default_rng(1212)
    ts = end - 15.0 * np.arange(8 * 240)[::-1]
    series = []
    for i in range(12):
        values = rng.lognormal(-0.5, 0.4, ts.size)
        if i >= 10:
            values[ts > end - STEP_AGO] *= 2.0
        series.append(series_of({"target": f"t{i:02d}"}, ts.tolist(), values.round(6).tolist()))
    return openmetrics(series), float(ts[ts > end - STEP_AGO][0])


def test_the_running_sidecar_pages_the_shifted_series_of_a_real_prometheus(
    tmp_path: Path,
) -> None:
    end = float(int(time.time()) - 120)
    text, step_time = _fleet(end)
    (tmp_path / "spc.yml").write_text(CONFIG)
    port = free_port()
    with (
        backfilled_prometheus(text) as prom,
        sidecar_process(tmp_path / "spc.yml", prom.url, port, tmp_path / "spc.log") as url,
    ):
        deadline = time.monotonic() + 60
        while True:
            got = parse(http_get(f"{url}/metrics").decode())
            done = ("llmscope_spc_chart_matches_nothing", labels(chart="typo")) in got and got[
                ("llmscope_spc_chart_matches_nothing", labels(chart="typo"))
            ] == 1.0
            page = {
                k[1]: v
                for k, v in got.items()
                if k[0] == "llmscope_spc_alarm_statistic" and ("severity", "page") in k[1]
            }
            if (done and len(page) == 12) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    log = (tmp_path / "spc.log").read_text()

    def value(name: str, target: str, severity: str = "page") -> float | None:
        return got.get((name, labels(chart="latency", target=target, severity=severity)))

    def detector(name: str, target: str, severity: str = "page") -> float | None:
        """The detector's own families carry no direction."""
        key = labels(chart="latency", target=target, severity=severity) - {("direction", "up")}
        return got.get((name, key))

    shifted, steady = ["t10", "t11"], [f"t{i:02d}" for i in range(10)]
    for target in shifted:
        assert value("llmscope_spc_alarm_active", target) == 1.0, target
        started = value("llmscope_spc_alarm_started_timestamp_seconds", target)
        # The first cycle judged the whole window: the episode began within minutes of the
        # step, before the sidecar started, so it is not counted as new.
        assert started is not None and step_time <= started <= step_time + 10 * 60, target
        # Not counted: the counter appears with the first counted episode.
        assert value("llmscope_spc_alarms_total", target) is None
        statistic = detector("llmscope_spc_alarm_statistic", target)
        threshold = detector("llmscope_spc_alarm_threshold", target)
        assert statistic is not None and threshold is not None and statistic > threshold
        reference = value("llmscope_spc_alarm_reference", target)
        assert reference is not None and 0.5 < reference < 0.75  # exp(-0.5), not doubled
    for target in steady:
        # Published only while an episode is open.
        assert value("llmscope_spc_alarm_active", target) is None, target
        assert value("llmscope_spc_alarm_started_timestamp_seconds", target) is None
        assert value("llmscope_spc_alarm_active", target, "ticket") is None, target
        assert detector("llmscope_spc_alarm_statistic", target) is not None, target
    assert got[("llmscope_spc_chart_matches_nothing", labels(chart="typo"))] == 1.0
    assert got[("llmscope_spc_chart_matches_nothing", labels(chart="latency"))] == 0.0
    # Logged once, not every cycle.
    assert log.count("chart typo: {") == 1, log
