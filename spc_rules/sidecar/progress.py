"""What a person waiting for a chart needs to hear, once: when its series will have limits and
when they do, and when a chart has matched nothing for longer than its evaluation window.

``ChartProgress`` sees every evaluated chart and logs each change of state once (not every
cycle); ``matches_nothing`` feeds ``llmscope_spc_chart_matches_nothing`` and the info alert
LLMscopeSPCChartEmpty.
"""

from __future__ import annotations

import logging

import numpy as np

from spc_rules.sidecar.config.selector import render_selector
from spc_rules.sidecar.judge.evaluate import ChartResult

log = logging.getLogger("llmscope.spc")


def _plural(count: int, word: str) -> str:
    """``1 point``, ``2 points``; ``series`` is its own plural."""
    return f"{count} {word}" if count == 1 or word.endswith("s") else f"{count} {word}s"


class ChartProgress:
    def __init__(self) -> None:
        self._empty_since: dict[str, float] = {}
        self.matches_nothing: dict[str, bool] = {}
        self._waiting: dict[str, bool] = {}  # chart -> some series wait for limits

    def observe(self, result: ChartResult, now: float) -> None:
        self._emptiness(result, now)
        self._limits(result)

    def retain(self, charts: set[str]) -> None:
        for table in (self._empty_since, self.matches_nothing, self._waiting):
            for name in set(table) - charts:
                del table[name]

    def _emptiness(self, result: ChartResult, now: float) -> None:
        chart = result.chart
        if result.keys:
            if self.matches_nothing.get(chart.name):
                log.info("chart %s: its selector matches series again", chart.name)
            self._empty_since.pop(chart.name, None)
            self.matches_nothing[chart.name] = False
            return
        since = self._empty_since.setdefault(chart.name, now)
        empty = now - since > chart.evaluation
        if empty and not self.matches_nothing.get(chart.name):
            selector = render_selector(
                (f"{chart.metric}_sum", f"{chart.metric}_count"), chart.matchers
            )
            log.warning(
                "chart %s: %s has matched no series for longer than its evaluation window (%gs)",
                chart.name,
                selector,
                chart.evaluation,
            )
        self.matches_nothing[chart.name] = empty

    def _limits(self, result: ChartResult) -> None:
        name = result.chart.name
        waiting = np.flatnonzero(~result.limits_ok)
        if waiting.size and not self._waiting.get(name):
            needed = result.points_needed[waiting]
            soonest = int(needed.min())
            log.info(
                "chart %s: %s of %d without control limits yet; the first needs %d more %s%s",
                name,
                _plural(int(waiting.size), "series"),
                len(result.keys),
                soonest,
                "point" if soonest == 1 else "points",
                _eta(result, waiting, soonest),
            )
        elif not waiting.size and self._waiting.get(name):
            provisional = int(np.count_nonzero(result.provisional))
            log.info(
                "chart %s: control limits for all %s (%d provisional, fitted on their earliest "
                "points until the rolling baseline fills)",
                name,
                _plural(len(result.keys), "series"),
                provisional,
            )
        if result.keys:
            self._waiting[name] = bool(waiting.size)


def _eta(result: ChartResult, rows: np.ndarray, points: int) -> str:
    """`` (about 5 minutes at one point per 15s)``, from the series' point interval."""
    intervals = result.point_interval[rows]
    intervals = intervals[np.isfinite(intervals)]
    if not intervals.size:
        return ""
    step = float(np.min(intervals))
    return f" (about {max(points * step / 60, 1):.0f} minutes at one point per {step:g}s)"
