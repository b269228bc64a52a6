"""The sidecar against a real Prometheus and a real VictoriaMetrics holding known series: what
it publishes equals the engine's results on the same numbers.

The fleet (tests/sidecar/data.py) has individuals with a late shift, counter resets inside the
baseline and the evaluation window, X-bar subgroups of real traffic, missed scrapes, a series
with too few points for limits, and failed probes that the chart's selector must leave out.
Windows are fetched in 20-minute pieces, so the stitching is exercised too.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time

import httpx
import pytest

from spc_rules.sidecar.config.loader import SidecarConfig, load_text
from spc_rules.sidecar.service import Sidecar
from testkit.backends import backfilled_prometheus, filled_victoria_metrics
from tests.sidecar.data import LATENCY_CHART, exposition_ms, generate, openmetrics
from tests.sidecar.expected import ChartSpec, expected, labels, scrape

# Both sides are bad here, so that the fleet meets every rule (direction: tests/sidecar/
# test_alarms.py).
SPEC = ChartSpec(evaluation=1800.0, baseline=3600.0, usl=3.0, hold=300.0, direction="both")
CONFIG = f"""
global: {{lookback: 1m, max_range: 20m, compression: {{compression}}}}
charts:{LATENCY_CHART}    usl: 3s
    direction: both
    hold: 5m
    ewma: true
    cusum: true
"""
SIGNALS = ("1", "2", "3", "4", "5", "6", "7", "8", "ewma", "cusum")


def _end() -> float:
    # A whole second some minutes ago: inside every backend's retention and past
    # VictoriaMetrics' 30s search latency offset.
    return float(int(time.time()) - 300)


def _config(compression: str) -> SidecarConfig:
    return load_text(CONFIG.replace("{compression}", compression), "test.yml")


def _evaluate_once(
    url: str, now: float, compression: str
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async def run() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        # Started before the evaluation window: every flagged point in it counts as new.
        clock = [now - SPEC.evaluation]
        sidecar = Sidecar(lambda: _config(compression), url, clock=lambda: clock[0])
        clock[0] = now
        try:
            assert await sidecar.cycle()
            return scrape(sidecar.collector)
        finally:
            await sidecar.aclose()

    return asyncio.run(run())


def _check_against_engine(
    got: dict[tuple[str, frozenset[tuple[str, str]]], float], now: float, end: float
) -> None:
    generated = generate(end, scrapes=400)
    fleet = {s.labels["target"]: s for s in generated if not s.labels["error_type"]}
    want = expected(fleet, SPEC, now)

    def value(name: str, target: str, **extra: str) -> float | None:
        if "rule" in extra:
            extra["direction"] = SPEC.direction
        return got.get((f"llmscope_spc_{name}", labels(chart="latency", target=target, **extra)))

    assert got[("llmscope_spc_series", labels(chart="latency"))] == len(fleet)
    for target, w in want.items():
        assert value("limits_available", target) == float(w.limits_ok), target
        assert value("baseline_points", target) == w.baseline_points, target
        assert value("window_points", target) == w.window_points, target
        assert value("last_value", target) == pytest.approx(w.last_value, rel=1e-12)
        assert value("last_subgroup_size", target) == w.last_size, target
        lines = {
            "center": w.center,
            "sigma": w.sigma,
            "upper_control_limit": w.ucl,
            "lower_control_limit": w.lcl,
        }
        for name, line in lines.items():
            want_line = pytest.approx(line, rel=1e-9) if w.limits_ok else None
            assert value(name, target) == want_line, (target, name)
        # The zones are recording rules now (tests/sidecar/test_publish_zones.py).
        assert value("zone_upper", target, sigmas="1") is None
        for name, cap in (("cpk", w.cpk), ("ppk", w.ppk)):
            want_cap = None if math.isnan(cap) else pytest.approx(cap, rel=1e-9)
            assert value(name, target) == want_cap, (target, name)
        assert value("cp", target) is None  # one spec limit: Cp is undefined
        total = sum(len(w.flagged[signal]) for signal in SIGNALS)
        assert value("violations_total", target) == total, target
        for signal in SIGNALS:
            stamps = w.flagged[signal]
            newest = float(stamps.max()) if len(stamps) else None
            # Published only while the flag is active.
            active = newest is not None and newest >= w.hold_since
            last = value("violation_last_timestamp_seconds", target, rule=signal)
            assert last == (newest if active else None), (target, signal)
            flag = value("violation_active", target, rule=signal)
            assert flag == (1.0 if active else None), (target, signal)
    # The fleet is built so that the checks above meet every case at least once.
    assert all(any(len(w.flagged[s]) for w in want.values()) for s in SIGNALS)
    assert not want["sparse"].limits_ok
    _, _, sizes = fleet["traffic"].points()
    assert (sizes[-want["traffic"].window_points :] > 1).any()
    counts = [sc.count for sc in fleet["restart"].scrapes if sc.ts > now - SPEC.evaluation]
    assert any(b < a for a, b in itertools.pairwise(counts))  # a reset in the window


def _compresses(url: str) -> bool:
    """Whether the backend gzips a query answer the sidecar asks to have gzipped."""
    response = httpx.get(
        f"{url}/api/v1/query",
        params={"query": "vector(1)"},
        headers={"Accept-Encoding": "gzip"},
    )
    return bool(response.headers.get("Content-Encoding") == "gzip")


def test_sidecar_on_prometheus_publishes_the_engines_results() -> None:
    end = _end()
    fleet = generate(end, scrapes=400)
    with backfilled_prometheus(openmetrics(fleet)) as prom:
        assert _compresses(prom.url)  # so the gzip run reads a compressed stream
        for compression in ("none", "gzip"):
            _check_against_engine(_evaluate_once(prom.url, end, compression), end, end)


def test_sidecar_on_victoria_metrics_publishes_the_engines_results() -> None:
    end = _end()
    fleet = generate(end, scrapes=400)
    with filled_victoria_metrics(exposition_ms(fleet)) as vm:
        for compression in ("none", "gzip"):
            _check_against_engine(_evaluate_once(vm.url, end, compression), end, end)
