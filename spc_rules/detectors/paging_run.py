"""Vectorized paging runner: many series, a block of points, episodes carried in a state.

Per side (up judges z, down judges -z) and series:

    S_t = min(max(0, S_{t-1} + clip(y_t, -c, c) - k), h + c)

- An episode opens at the first point with S_t > h (`opened`), and stays open (`alarm`) while
  S_t > h / 2 (hysteresis: a sustained shift does not flap on noise). S is capped at h + c so
  that, once the shift ends, the episode closes within about (h / 2 + c) / k points.
- When an episode closes, S restarts at 0: in control every episode is followed by a zero-state
  run, so false episodes arrive exactly at the rate the design's ARL0 gives.
- A missing point (NaN z) leaves every state unchanged, reports NaN and never alarms.
- "both" runs the two sides independently (each designed for half the budget, see
  PagingPolicy.target_arl0_points); an episode is open when either side's is.

The sidecar keeps the returned state per series and passes it to the next call; it stamps an
episode's start time with the timestamp of the point where `opened` is true, and "episode open
at the newest point" is `state.open` (which survives missing points).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
BadSide = Literal["up", "down", "both"]


@dataclass(frozen=True)
class PagingState:
    """Per series: the statistic and episode flag of each side (shape (series,) each)."""

    upper: FloatArray
    lower: FloatArray
    open_upper: BoolArray
    open_lower: BoolArray

    @classmethod
    def zeros(cls, series: int) -> PagingState:
        return cls(
            np.zeros(series), np.zeros(series), np.zeros(series, bool), np.zeros(series, bool)
        )

    @property
    def open(self) -> BoolArray:
        """Episode open after the newest point (either side)."""
        return self.open_upper | self.open_lower


@dataclass(frozen=True)
class PagingRun:
    upper: FloatArray  # (series, points) S of the up side, NaN at missing points, 0 if not judged
    lower: FloatArray  # S of the down side (positive for a drop)
    alarm: BoolArray  # an episode is open at the point (False at missing points)
    opened: BoolArray  # an episode opened at the point
    state: PagingState  # after the last point

    @property
    def statistic(self) -> FloatArray:
        """The larger side's S (sigma units), NaN at missing points."""
        return np.maximum(self.upper, self.lower)


def run_paging(
    z: ArrayLike,
    k: ArrayLike,
    h: ArrayLike,
    clip: ArrayLike,
    *,
    bad_side: BadSide,
    state: PagingState | None = None,
) -> PagingRun:
    """Run the paging CUSUM over z (series, points); k, h, clip are per series or scalars."""
    points = np.atleast_2d(np.asarray(z, dtype=np.float64))
    series, count = points.shape
    k_, h_, c_ = (np.broadcast_to(np.asarray(a, np.float64), (series,)) for a in (k, h, clip))
    if np.any(~(h_ > 0)) or np.any(~(c_ > k_)) or np.any(~(k_ >= 0)):
        raise ValueError("each series needs h > 0 and clip > k >= 0")
    start = state or PagingState.zeros(series)
    if start.upper.shape != (series,):
        raise ValueError(f"state is for {start.upper.shape[0]} series, z has {series}")
    upper_s, upper_open = start.upper.copy(), start.open_upper.copy()
    lower_s, lower_open = start.lower.copy(), start.open_lower.copy()
    judge_up, judge_down = bad_side in ("up", "both"), bad_side in ("down", "both")
    upper = np.zeros((series, count))
    lower = np.zeros((series, count))
    alarm = np.zeros((series, count), bool)
    opened = np.zeros((series, count), bool)
    for t in range(count):
        column = points[:, t]
        seen = ~np.isnan(column)
        if judge_up:
            new = _step(upper_s, upper_open, column, seen, k=k_, h=h_, c=c_)
            opened[:, t] |= new
        if judge_down:
            new = _step(lower_s, lower_open, -column, seen, k=k_, h=h_, c=c_)
            opened[:, t] |= new
        upper[:, t] = np.where(seen, upper_s, np.nan)
        lower[:, t] = np.where(seen, lower_s, np.nan)
        alarm[:, t] = seen & (upper_open | lower_open)
    final = PagingState(upper_s, lower_s, upper_open, lower_open)
    return PagingRun(upper, lower, alarm, opened, final)


def _step(
    s: FloatArray,
    is_open: BoolArray,
    y: FloatArray,
    seen: BoolArray,
    *,
    k: FloatArray,
    h: FloatArray,
    c: FloatArray,
) -> BoolArray:
    """Advance one side in place at the points `seen`; returns where an episode opened."""
    moved = np.minimum(np.maximum(s + np.clip(np.nan_to_num(y), -c, c) - k, 0.0), h + c)
    s[seen] = moved[seen]
    opens = seen & ~is_open & (s > h)
    closes = seen & is_open & (s <= h / 2.0)
    is_open |= opens
    is_open &= ~closes
    s[closes] = 0.0
    return opens
