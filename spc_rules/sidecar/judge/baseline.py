"""Which points a series' limits and alarm references are fitted on.

Three rules, the same for the Nelson limits and the alarm detectors' references:

- **Incidents stay out.** Points inside an alarm episode (from the point that opened it to
  the point that closed it, or still open) never enter the Nelson baseline, nor points
  flagged by rule 1, so a shift that lasts does not become the reference it is judged
  against (``Exclusions``). A detector's reference leaves out the episodes of its own and
  higher severities only: rule-1 points (a mere 3 sigma of a moving-range sigma) and false
  tickets sit on one side, and leaving them out would bias the page's center and sigma
  towards the good side, then raise false pages. An episode accepted as the new normal
  (``accept_after``) is no longer excluded.
- **Provisional limits.** A series whose window holds fewer than ``min_points`` usable
  points gets limits fitted on its earliest points instead: up to half of the usable points
  it has before the window's end, but at least ``min_points``. Its newer half is therefore
  never judged against limits fitted on itself, and a new series has limits minutes after
  it appears instead of a whole baseline later. With a ``LevelCheck`` (``warmup``) those
  earliest points are those of the level the series spends most time at, so an incident
  among its first points does not become its limits; until one level holds ``min_points``
  the series waits.
- **Frozen limits.** When neither gives enough points (an episode longer than the window),
  the caller keeps the last limits it had (``evaluate`` and ``alarms`` do).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from spc_rules.sidecar.judge import warmup
from spc_rules.sidecar.judge.judging import BoolArray
from spc_rules.sidecar.query.decode import FloatArray
from spc_rules.sidecar.query.points import IntArray, Points
from spc_rules.sidecar.query.windows import Window, groups_of, positions, window

NO_INTERVALS = np.empty((0, 3))


@dataclass(frozen=True)
class Exclusions:
    """Per series: episode intervals (start, end, severity code; end is +inf while open) and
    the timestamps of rule-1 points."""

    intervals: FloatArray = field(default_factory=lambda: NO_INTERVALS)
    flagged: FloatArray = field(default_factory=lambda: np.empty(0))

    def mask(self, stamps: FloatArray, codes: tuple[float, ...], flagged: bool) -> BoolArray:
        """Where a point at ``stamps`` is excluded: inside an episode of a severity in
        ``codes``, or (``flagged``) a rule-1 point."""
        out = np.isin(stamps, self.flagged) if flagged else np.zeros(stamps.shape, bool)
        for start, end, code in self.intervals.tolist():
            if code in codes:
                out |= (stamps >= start) & (stamps <= end)
        return out

    def excludes(self, codes: tuple[float, ...], flagged: bool) -> bool:
        """Whether ``mask`` can leave any point out."""
        if flagged and self.flagged.size:
            return True
        return bool(self.intervals.size) and bool(np.isin(self.intervals[:, 2], codes).any())

    def pruned(self, before: float) -> Exclusions:
        """Without what ended before ``before`` (it can no longer touch a window)."""
        keep = self.intervals[:, 1] >= before
        return Exclusions(self.intervals[keep], self.flagged[self.flagged >= before])


@dataclass(frozen=True)
class Selected:
    """The points chosen per series, as a left-aligned NaN-padded Window, and which rows
    fell back to their earliest points."""

    window: Window
    provisional: BoolArray
    usable: IntArray  # usable (not excluded) points up to the window's end


def select(
    series: Sequence[Points],
    start: FloatArray | float,
    end: FloatArray | float,
    exclusions: Sequence[Exclusions],
    *,
    min_points: int,
    upto: FloatArray | float,
    codes: tuple[float, ...],
    flagged: bool,
    check: warmup.LevelCheck | None = None,
) -> Selected:
    """Per series, its usable points in (start, end]; when too few, its earliest usable
    points up to ``upto`` (the newest point a provisional fit may read), of its longest
    level with a ``check``."""
    rows = len(series)
    starts = np.broadcast_to(np.asarray(start, np.float64), (rows,))
    ends = np.broadcast_to(np.asarray(end, np.float64), (rows,))
    uptos = np.broadcast_to(np.asarray(upto, np.float64), (rows,))
    # Rows with nothing to leave out whose window holds enough points (most, most cycles)
    # take the window's points as they are: found for all of them at once.
    plain = np.flatnonzero([not ex.excludes(codes, flagged) for ex in exclusions])
    some = [series[i] for i in plain.tolist()]
    groups = groups_of(some)
    inside = window(some, starts[plain], ends[plain], groups=groups)
    good = positions(some, uptos[plain], groups)  # the usable points up to ``upto``
    enough = (inside.counts >= min_points) | (good < min_points)  # no earliest points
    if plain.size == rows and enough.all():  # every row takes its window as it is
        return Selected(inside, np.zeros(rows, bool), np.maximum(good, inside.counts))
    plain, good = plain[enough], good[enough]
    chosen: dict[int, IntArray] = {}
    provisional = np.zeros(rows, bool)
    usable = np.zeros(rows, np.int64)
    usable[plain] = np.maximum(good, inside.counts[enough])
    others = np.ones(rows, bool)
    others[plain] = False
    for row in np.flatnonzero(others).tolist():
        p, ex = series[row], exclusions[row]
        hi = int(np.searchsorted(p.timestamps, max(ends[row], uptos[row]), side="right"))
        ok = ~ex.mask(p.timestamps[:hi], codes, flagged) if hi else np.zeros(0, bool)
        picked = np.flatnonzero(ok)
        stamps = p.timestamps[picked]
        within = picked[(stamps > starts[row]) & (stamps <= ends[row])]
        picked = picked[stamps <= uptos[row]]
        usable[row] = max(picked.size, within.size)
        if within.size < min_points and picked.size >= min_points:
            if check is None:
                pick: IntArray | None = np.arange(max(min_points, picked.size // 2))
            else:
                pick = warmup.provisional(p.values[picked], min_points, check)
            if pick is not None:
                within = picked[pick]
                provisional[row] = True
        chosen[row] = within
    width = max(max((c.size for c in chosen.values()), default=0), inside.values.shape[1])
    shape = (rows, width)
    values, sizes, stamps = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    counts = np.zeros(rows, np.int64)
    part = inside.values.shape[1]
    values[plain, :part] = inside.values[enough]
    sizes[plain, :part] = inside.sizes[enough]
    stamps[plain, :part] = inside.timestamps[enough]
    counts[plain] = inside.counts[enough]
    for row, idx in chosen.items():
        p = series[row]
        values[row, : idx.size] = p.values[idx]
        sizes[row, : idx.size] = p.sizes[idx]
        stamps[row, : idx.size] = p.timestamps[idx]
        counts[row] = idx.size
    return Selected(
        Window(values, sizes, stamps, counts, np.zeros(rows, np.int64)), provisional, usable
    )
