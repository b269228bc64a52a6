"""Each series' exclusions after a cycle (``baseline.Exclusions``): its new rule-1 points,
the episodes that opened (open-ended) and closed, accepted episodes dropped (their points are
the new normal), and what can no longer touch a window pruned.

Most series have nothing new in a cycle: they keep their exclusions object as it is, and only
the others go through ``advance`` (a Python loop per series cost a twentieth of a steady cycle
at 10,000 series).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from spc_rules.sidecar.judge.alarms import CODE, Episodes
from spc_rules.sidecar.judge.baseline import Exclusions
from spc_rules.sidecar.judge.judging import BoolArray
from spc_rules.sidecar.query.decode import FloatArray

_NONE = np.empty(0)


def advance_all(
    exclusions: Sequence[Exclusions],
    rule1: Sequence[FloatArray],
    found: Mapping[str, Episodes],
    before: float,
) -> tuple[tuple[Exclusions, ...], BoolArray]:
    """Every series' exclusions after a cycle, and where an episode changed them (opened,
    closed or accepted: what its baseline may include changed)."""
    rows = len(exclusions)
    episodes = np.zeros(rows, bool)
    for e in found.values():
        episodes |= _nonempty(e.opened, rows) | _nonempty(e.closed, rows)
        episodes |= np.asarray(e.accepted, bool)
    news = episodes | _nonempty(rule1, rows)
    out = list(exclusions)
    for row, ex in enumerate(exclusions):
        if news[row] or _prunable(ex, before):
            hits = rule1[row] if row < len(rule1) else _NONE
            out[row] = advance(ex, hits, found, row, before)
    return tuple(out), episodes


def _nonempty(per_row: Sequence[FloatArray], rows: int) -> BoolArray:
    out = np.zeros(rows, bool)
    n = min(len(per_row), rows)
    out[:n] = np.fromiter((a.size > 0 for a in per_row[:n]), bool, n)
    return out


def _prunable(ex: Exclusions, before: float) -> bool:
    """Whether ``ex.pruned(before)`` would drop something."""
    if ex.flagged.size and ex.flagged.min() < before:
        return True
    return bool(ex.intervals.size and ex.intervals[:, 1].min() < before)


def advance(
    exclusions: Exclusions,
    rule1: FloatArray,
    found: Mapping[str, Episodes],
    row: int,
    before: float,
) -> Exclusions:
    """One series' exclusions after a cycle: its new rule-1 points, the episodes that opened
    (open-ended) and closed, accepted episodes dropped (their points are the new normal)."""
    intervals = [list(i) for i in exclusions.intervals.tolist()]
    for severity, episodes in found.items():
        code = CODE[severity]
        events = [(t, 1) for t in episodes.opened[row].tolist()]
        events += [(t, 0) for t in episodes.closed[row].tolist()]
        for stamp, opens in sorted(events):
            if opens:
                intervals.append([stamp, np.inf, code])
            else:
                for interval in intervals:
                    if interval[2] == code and interval[1] == np.inf:
                        interval[1] = stamp
        if episodes.accepted[row]:
            intervals = [i for i in intervals if not (i[2] == code and i[1] == np.inf)]
    array = np.array(intervals, dtype=np.float64).reshape(-1, 3)
    flagged = np.union1d(exclusions.flagged, rule1)
    return Exclusions(array, flagged).pruned(before)
