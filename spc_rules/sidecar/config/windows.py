"""The time windows of one chart: what a cycle judges, and how far back it fetches."""

from __future__ import annotations

from spc_rules.sidecar.config.model import ChartConfig, RollingBaseline


def evaluation_window(chart: ChartConfig, now: float) -> tuple[float, float]:
    """(start, end) of the evaluation window; points with start < timestamp <= end."""
    return now - chart.evaluation, now


def fetch_start(chart: ChartConfig, now: float, lookback: float) -> float:
    """Where the cycle's window fetch begins: the baseline too when it rolls just before."""
    start, _ = evaluation_window(chart, now)
    if isinstance(chart.baseline, RollingBaseline):
        start -= chart.baseline.window
    return start - lookback
