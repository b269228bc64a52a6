"""Cycles of the live sidecar over stored history, at the live spacing.

Each cycle does what ``Sidecar.cycle`` does after its queries: every chart's samples with
``start < t <= now`` (``history.window``, the window a live fetch reads) go through the
decode stage's functions (``points_of``, and ``failure_runs`` for the failure chart), the
real ``Stages.compute`` (``ViolationLedger.judge``) and the real ``IncidentEngine`` with the
target info the exporter stored. Fixed-range baselines are read as the live planner reads
them (at the first cycle and every ``baseline_refresh``). Quiet cycles are skipped where
that cannot change anything (``quiet``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from spc_rules.backtest import quiet
from spc_rules.backtest.history import selected, window
from spc_rules.sidecar.config.loader import SidecarConfig
from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.config.windows import fetch_start
from spc_rules.sidecar.families import ChartView
from spc_rules.sidecar.incidents.board import Incident
from spc_rules.sidecar.incidents.engine import IncidentEngine
from spc_rules.sidecar.incidents.failures import FailureRun
from spc_rules.sidecar.incidents.identity import INFO_METRIC, TargetInfo
from spc_rules.sidecar.judge.ledger import ViolationLedger
from spc_rules.sidecar.progress import ChartProgress
from spc_rules.sidecar.query.decode import RawSeries
from spc_rules.sidecar.query.fetching import CachedBaseline
from spc_rules.sidecar.query.points import SeriesKey
from spc_rules.sidecar.shard import WHOLE
from spc_rules.sidecar.stages import ChartPoints, Stages, chart_points

log = logging.getLogger("llmscope.spc")


def cycle_times(first: float, last: float, interval: float) -> Iterator[float]:
    """Every ``interval`` (whole milliseconds, on the epoch's grid) from the first cycle at
    or after ``first`` to the first at or after ``last``."""
    step = max(round(interval * 1000), 1)
    at = -(-math.floor(first * 1000) // step) * step
    end = -(-math.ceil(last * 1000) // step) * step
    while at <= end:
        yield at / 1000
        at += step


@dataclass
class Outcome:
    """What a replay found: every published incident (in the order they paged), and how
    many cycles ran of how many the live sidecar would have run."""

    incidents: list[Incident] = field(default_factory=list)
    cycles: int = 0
    ran: int = 0
    broken: set[str] = field(default_factory=set)


class Replay:
    def __init__(self, config: SidecarConfig, stored: Sequence[RawSeries]) -> None:
        self.config = config
        self.parts = {c.name: selected(c, stored) for c in config.charts}
        self.info_series = [s for s in stored if s.labels.get("__name__") == INFO_METRIC]
        self.ledger = ViolationLedger(counted_after=-math.inf)
        self.progress = ChartProgress()
        self.engine = IncidentEngine(config.incidents)
        self.views: dict[str, ChartView] = {}
        self.baselines: dict[str, CachedBaseline] = {}
        self.outcome = Outcome()
        self._info: dict[tuple[int, ...], TargetInfo] = {}
        self._seen: set[int] = set()
        self.quiet = quiet.QuietCycles(config, self.parts, self.info_series)

    def run(self, times: Sequence[float], skip: bool = True) -> Outcome:
        """Cycles at ``times``; with ``skip``, only those where something can change."""
        previous = -math.inf
        for now in times:
            self.outcome.cycles += 1
            if skip and self.quiet.skippable(previous, now):
                continue
            self.cycle(now)
            self.quiet.after(round(now, 3), self.engine, self.views, self.ledger, self.baselines)
            previous = now
        return self.outcome

    def cycle(self, at: float) -> None:
        now = round(at, 3)
        use = Stages(WHOLE, self.progress, self.ledger, self._broke)
        points, failures = self._decode(now, use)
        computed = use.compute(self.config, now, points, dict(self.baselines))
        self.baselines.update(computed.baselines)
        self.views.update(computed.views)
        self.engine.update(now, self.views, failures, self._target_info(now))
        self.outcome.ran += 1
        for incident in self.engine.incidents():
            if id(incident) not in self._seen:
                self._seen.add(id(incident))
                self.outcome.incidents.append(incident)

    def _decode(
        self, now: float, use: Stages
    ) -> tuple[ChartPoints, dict[str, dict[SeriesKey, FailureRun]]]:
        """The decode stage's work on what this cycle's fetches would have returned."""
        end_ms = round(now * 1000)
        settings = self.config.incidents
        points: ChartPoints = {}
        failures: dict[str, dict[SeriesKey, FailureRun]] = {}
        for chart in self.config.charts:
            # The span the live plan fetches: a sparse chart's stretched (judge/cadence.py).
            judged = use.ledger.effective(chart)
            span_ms = round((now - fetch_start(judged, now, self.config.lookback)) * 1000)
            try:
                got = [window(s, end_ms - span_ms, end_ms) for s in self.parts[chart.name]]
                points[(chart.name, "window")], runs = chart_points(
                    chart, "window", got, settings, use
                )
                if runs is not None:
                    failures[chart.name] = runs
                fixed = self._fixed_baseline(chart, now, end_ms)
                if fixed is not None:  # as live: the shard's series, small subgroups dropped
                    points[(chart.name, "baseline")], _ = chart_points(
                        chart, "baseline", fixed, settings, use
                    )
            except Exception:
                points.pop((chart.name, "window"), None)
                failures.pop(chart.name, None)
                use.broke(chart.name)
        return points, failures

    def _fixed_baseline(
        self, chart: ChartConfig, now: float, end_ms: int
    ) -> list[list[RawSeries]] | None:
        """A fixed-range baseline's samples when the live planner would fetch them: the
        first cycle, after a change, and every ``baseline_refresh``; none later than now."""
        fixed = chart.baseline.fixed_range
        known = self.baselines.get(chart.name)
        if fixed is None or (
            known is not None
            and known.chart == chart
            and now - known.fetched_at < self.config.baseline_refresh
        ):
            return None
        first = math.floor((fixed[0] - self.config.lookback) * 1000)
        last = min(math.ceil(fixed[1] * 1000), end_ms)
        return [window(s, first, last) for s in self.parts[chart.name]]

    def _target_info(self, now: float) -> TargetInfo:
        """What ``fetch_info`` reads live: the info series with a sample within ``lookback``."""
        end_ms = round(now * 1000)
        span = window(self.info_series, end_ms - round(self.config.lookback * 1000), end_ms)
        key = tuple(sorted(id(s.labels) for s in span))
        known = self._info.get(key)
        if known is None:
            known = self._info[key] = TargetInfo.from_series(s.labels for s in span)
        return known

    def _broke(self, name: str) -> None:
        if name not in self.outcome.broken:
            log.exception("chart %s: evaluation failed in the replay", name)
        self.outcome.broken.add(name)
