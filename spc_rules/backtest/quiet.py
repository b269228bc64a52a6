"""Which replay cycles can be skipped: those where nothing a cycle reads has changed.

Between two cycles, what a chart's evaluation reads changes only when (static events,
known from the stored samples alone) a sample arrives; a sample or point crosses a window
edge (``lookback`` for a series' liveness, the evaluation window, the rolling baseline,
the fetched span); or (dynamic events, from the state after the last cycle run) an alarm
reference falls due for its refit (``alarms.REFIT_S`` after its fit, for series not in an
episode), rolling-baseline limits fall due for theirs (``rolling.refit_seconds``, or at once
after an episode changed), an open episode reaches ``accept_after``, a fixed-range baseline
its ``baseline_refresh``, an incident is settling, or a calm open incident's hold ends. A
cycle with none of these since the last cycle run would find what that one found and leave
the same state, so it is skipped;
``tests/backtest/test_skipping.py`` replays with and without skipping and compares.
Sparse histories (hourly probes) skip most cycles; a busy 15 s fleet skips none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from spc_rules.sidecar.config.loader import SidecarConfig
from spc_rules.sidecar.config.windows import fetch_span
from spc_rules.sidecar.families import ChartView
from spc_rules.sidecar.incidents.engine import IncidentEngine
from spc_rules.sidecar.judge.alarms import REFIT_S, SEVERITIES
from spc_rules.sidecar.judge.incremental.rolling import refit_seconds
from spc_rules.sidecar.judge.ledger import ViolationLedger
from spc_rules.sidecar.query.decode import RawSeries
from spc_rules.sidecar.query.fetching import CachedBaseline

_SLACK_MS = 2  # window edges are compared in whole milliseconds: run the cycles either side
SCALES = tuple(1 << i for i in range(9))  # 1 to 256: points up to a few hours apart


class QuietCycles:
    def __init__(
        self,
        config: SidecarConfig,
        parts: Mapping[str, tuple[list[RawSeries], ...]],
        info: Sequence[RawSeries],
    ) -> None:
        self.config = config
        lookback = config.lookback
        edges: list[np.ndarray] = []
        for chart in config.charts:
            stamps = _stamps([s for part in parts.get(chart.name, ()) for s in part])
            if not stamps.size:
                continue
            points = stamps
            if chart.proportion is not None:  # points close whole subgroups
                sub = chart.proportion.subgroup
                points = np.unique(np.ceil(stamps / sub) * sub)
            rolling = chart.baseline.rolling_window
            edges += [stamps, stamps + lookback]
            # Every scale a sparse chart's windows may be stretched by (judge/cadence.py).
            for scale in SCALES:
                span, evaluation = fetch_span(chart) * scale, chart.evaluation * scale
                edges += [stamps + span + lookback, points + evaluation]
                edges += [points + evaluation + rolling * scale]
        info_stamps = _stamps(info)
        edges += [info_stamps, info_stamps + lookback]
        merged = np.concatenate(edges) if edges else np.empty(0)
        self.events = np.unique(np.round(merged * 1000).astype(np.int64))
        self.due = math.inf  # the next dynamic event after the last cycle run

    def skippable(self, previous: float, now: float) -> bool:
        """True when nothing can change between the cycle run at ``previous`` and ``now``."""
        if not math.isfinite(previous):
            return False
        lo, hi = round(previous * 1000) - _SLACK_MS, round(now * 1000) + _SLACK_MS
        i = int(np.searchsorted(self.events, lo, side="right"))
        if i < self.events.size and self.events[i] <= hi:
            return False
        return now < self.due - _SLACK_MS / 1000

    def after(
        self,
        now: float,
        engine: IncidentEngine,
        views: Mapping[str, ChartView],
        ledger: ViolationLedger,
        baselines: Mapping[str, CachedBaseline],
    ) -> None:
        """Note the dynamic events after the cycle run at ``now``."""
        due = math.inf
        for board in engine.boards.values():
            # Settling: every cycle; open and calm: when its hold has passed.
            due = min(due, board.due(now))
        for chart in self.config.charts:
            view = views.get(chart.name)
            known = baselines.get(chart.name)
            if known is not None:
                due = min(due, known.fetched_at + self.config.baseline_refresh)
            if view is None or not view.result.keys:
                continue
            history = ledger.history(chart, view.result.keys)
            alarms = history.alarms
            # Rolling-baseline limits refit on their schedule, and at once (-inf) where an
            # episode changed what their baseline may include (judge/incremental/rolling.py).
            limits_at = history.limits_at
            if np.isneginf(limits_at).any():
                due = min(due, now)
            fitted = limits_at[np.isfinite(limits_at)]
            if fitted.size:
                # The windows it was judged with (stretched for sparse points).
                due = min(due, float(fitted.min()) + refit_seconds(ledger.effective(chart)))
            pinned = chart.baseline.pinned(chart.log) is not None
            for severity in SEVERITIES:
                carry = alarms[severity]
                is_open = carry.state.open
                if not pinned:
                    fitted = carry.fitted_at[~is_open]
                    fitted = fitted[np.isfinite(fitted)]
                    if fitted.size:
                        due = min(due, float(fitted.min()) + REFIT_S)
                since = carry.open_since[is_open]
                since = since[np.isfinite(since)]
                if since.size:
                    due = min(due, float(since.min()) + chart.paging.accept_after)
        self.due = due


def _stamps(series: Sequence[RawSeries]) -> np.ndarray:
    arrays = {id(s.timestamps): s.timestamps for s in series}
    if not arrays:
        return np.empty(0)
    return np.unique(np.concatenate(list(arrays.values())))
