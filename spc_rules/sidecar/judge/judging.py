"""Phase II, one cycle at a time: each point is judged once, by the first cycle that sees it.

A chart series carries from cycle to cycle a high-water mark (the timestamp of the newest
point already judged) and its info detectors' states after that point (``signals/``). A
cycle judges only the points newer than the mark (and inside the evaluation window), against
the limits of that cycle, so a point's flags are decided once and never revised by later
refits. A series gets its first mark in the first cycle that has limits for it: points seen
before are judged then, not skipped.

- The Nelson rules see up to ``CONTEXT_POINTS`` older points before the new ones, judged
  against the same limits, so a run that began in an earlier cycle still completes; those
  context points are never flagged again.
- The detectors (EWMA, CUSUM) continue from the carried state over the new points only. The
  state lives on the z scale (sigma units), where it keeps its meaning while a rolling
  baseline refits the limits; it goes back to the zero state while a series has no limits,
  and for a new series.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from spc_rules import BatchLimits, judge
from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.judge.attributes import ProportionLimits
from spc_rules.sidecar.query.decode import FloatArray
from spc_rules.sidecar.query.points import Points
from spc_rules.sidecar.query.windows import Window, window
from spc_rules.sidecar.signals.base import Detector

BoolArray = NDArray[np.bool_]
# The longest pattern (rule 7) spans 15 points: 14 before the newest one.
CONTEXT_POINTS = 14
# Per signal ("1".."8", then detector names): the timestamps of each series' flagged points.
Flagged = Mapping[str, tuple[FloatArray, ...]]
# A histogram chart's limits, or a p chart's (judge/attributes.py).
Limits = BatchLimits | ProportionLimits


@dataclass(frozen=True)
class Carry:
    """What each series (one entry per series) carries from one cycle to the next."""

    judged_until: FloatArray  # the high-water mark; NaN: nothing judged yet
    # Per detector name: its state, (series, state_size), in sigma units; absent: zero.
    states: Mapping[str, FloatArray] = field(default_factory=dict)

    @classmethod
    def fresh(cls, rows: int) -> Carry:
        """The state of series never judged: no mark, zero-state charts."""
        return cls(np.full(rows, np.nan))

    def state(self, detector: Detector) -> FloatArray:
        """The carried state of ``detector``, zero where none was kept."""
        got = self.states.get(detector.name)
        rows = len(self.judged_until)
        if got is None or got.shape != (rows, detector.state_size):
            return np.zeros((rows, detector.state_size))
        return got

    def marks(self) -> Carry:
        """The marks alone: the detectors start from their zero state."""
        return Carry(self.judged_until)


def judge_new(
    chart: ChartConfig,
    series: Sequence[Points],
    limits: Limits,
    *,
    window_start: float,
    end: float,
    carry: Carry,
) -> tuple[Flagged, Carry]:
    """Flags of the points newer than each series' mark (and than ``window_start``), up to
    ``end``; and what to carry to the next cycle."""
    since = np.fmax(carry.judged_until, window_start)  # NaN (never judged): the window start
    fresh = window(series, since, end, CONTEXT_POINTS)
    new = fresh.inside
    masks: dict[str, BoolArray] = {}
    # Which side of the center each flag is on (+1 up, -1 down), for the sided signals.
    sides: dict[str, FloatArray] = {}
    if chart.rules:
        if isinstance(limits, ProportionLimits):
            flags = limits.flags(fresh.values, fresh.sizes)
        else:
            flags = judge(fresh.values, limits, fresh.sizes)
        masks.update({str(r): flags[r - 1] for r in chart.rules})
        level = np.sign(limits.zscores(fresh.values, fresh.sizes))
        rising = np.sign(np.diff(fresh.values, axis=1, prepend=np.nan))
        sides.update({str(r): level for r in (1, 2, 5, 6)}, **{"3": rising})
    # The charts step over the new points only: context points are missing to them. They
    # run on z, which the limits' model (log-normal subgroups included) standardizes.
    z = limits.zscores(np.where(new, fresh.values, np.nan), fresh.sizes)
    states: dict[str, FloatArray] = {}
    for detector in chart.detectors:
        step = detector.run(z, carry.state(detector))
        masks[detector.name], sides[detector.name] = step.signal, step.side
        states[detector.name] = step.state
    ok = limits.ok
    for name, side in sides.items():
        if name in masks:
            masks[name] = masks[name] & _bad(side, chart.direction)
    flagged = {name: per_row(mask & new, fresh.timestamps) for name, mask in masks.items()}
    # A series without limits yet keeps no mark: its points wait, and the first cycle with
    # limits judges the whole window (an incident among its first points is judged).
    marked = np.asarray(ok) | np.isfinite(carry.judged_until)
    return flagged, Carry(
        judged_until=np.where(marked, np.fmax(carry.judged_until, _newest(fresh)), np.nan),
        # A series without limits goes back to the zero state.
        states={name: np.where(ok[:, None], st, 0.0) for name, st in states.items()},
    )


def _bad(side: FloatArray, direction: str) -> BoolArray:
    """Where a flag on ``side`` is on the chart's bad side: the good side (a faster response,
    more throughput) is never a violation unless the chart watches both."""
    if direction == "up":
        return side > 0
    if direction == "down":
        return side < 0
    return np.ones(side.shape, bool)


def _newest(w: Window) -> FloatArray:
    """Each row's newest timestamp, NaN without a new point (rows are left-aligned)."""
    out = np.full(len(w.counts), np.nan)
    rows = np.flatnonzero(w.counts > w.context)
    out[rows] = w.timestamps[rows, w.counts[rows] - 1]
    return out


NONE = np.empty(0)
NONE.setflags(write=False)


def per_row(mask: BoolArray, stamps: FloatArray) -> tuple[FloatArray, ...]:
    """Per row, the timestamps where ``mask`` is set (rows without any share one empty
    array: most rows, most cycles)."""
    rows, cols = np.nonzero(mask)  # row-major, so each row's hits are contiguous
    if rows.size == 0:
        return (NONE,) * int(mask.shape[0])
    hits: FloatArray = stamps[rows, cols]
    bounds = np.searchsorted(rows, np.arange(mask.shape[0] + 1)).tolist()
    return tuple(hits[a:b] if b > a else NONE for a, b in itertools.pairwise(bounds))


def newest(mask: BoolArray, stamps: FloatArray) -> FloatArray:
    """Per row, the newest timestamp where ``mask`` is set (rows are in time order), NaN
    where it is set nowhere."""
    if mask.shape[1] == 0:
        return np.full(mask.shape[0], np.nan)
    last = mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1)
    return np.where(mask.any(axis=1), stamps[np.arange(mask.shape[0]), last], np.nan)
