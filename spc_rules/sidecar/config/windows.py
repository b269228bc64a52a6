"""The time windows of one chart (what a cycle judges, how far back it fetches), and the
sidecar's retry delay after failed cycles."""

from __future__ import annotations

from spc_rules.sidecar.config.model import ChartConfig


def evaluation_window(chart: ChartConfig, now: float) -> tuple[float, float]:
    """(start, end) of the evaluation window; points with start < timestamp <= end."""
    return now - chart.evaluation, now


def fetch_span(chart: ChartConfig) -> float:
    """How far back of now a chart reads points: its evaluation window and, when it rolls,
    the baseline before it. The alarm detectors' references read inside this span."""
    return chart.evaluation + chart.baseline.rolling_window


def fetch_start(chart: ChartConfig, now: float, lookback: float) -> float:
    """Where the cycle's window fetch begins: ``fetch_span`` and ``lookback`` before now."""
    return now - fetch_span(chart) - lookback


def backoff(failed_cycles: int, interval: float) -> float:
    """Seconds before the next try after ``failed_cycles`` failures in a row: 1, 2, 4 ...,
    never longer than the interval."""
    return min(interval, 2.0 ** min(max(failed_cycles - 1, 0), 16))
