"""Average run length by simulation, vectorized: many runs as the rows of one array.

Used by benchmarks/arl.py and the slow validation tests; not part of the public API.
Each run is a stream of independent N(shift, 1) points judged against center 0 and sigma 1
(known, zero state). Time advances in blocks for all unfinished runs at once; a run ends at
its first flag. Detectors carry what they need across blocks: the last points for the
windowed Nelson rules (no rule looks further back than 15 points), the statistic for EWMA
and CUSUM. So the flags are exactly those of one long series.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from spc_rules.detectors.ewma_cusum import cusum, ewma
from spc_rules.engine.core import BoolArray, FloatArray
from spc_rules.engine.estimators import IntArray
from spc_rules.engine.nelson import nelson_rules

# (points of the unfinished runs, carried state or None at the start) -> (flags, new state)
Detector = Callable[[FloatArray, FloatArray | None], tuple[BoolArray, FloatArray]]

WESTERN_ELECTRIC = (1, 2, 5, 6)  # with rule2_run=8
ALL_RULES = (1, 2, 3, 4, 5, 6, 7, 8)


def nelson_detector(rules: Sequence[int], rule2_run: int = 9) -> Detector:
    """Signals at the first point flagged by any of `rules` (numbers 1-8)."""
    index = [r - 1 for r in rules]
    history = max(15, rule2_run)

    def detect(points: FloatArray, state: FloatArray | None) -> tuple[BoolArray, FloatArray]:
        seen = points if state is None else np.hstack([state, points])
        flags = np.asarray(nelson_rules(seen, 0.0, 1.0, rule2_run=rule2_run)[index].any(axis=0))
        return flags[:, seen.shape[1] - points.shape[1] :], seen[:, -history:]

    return detect


def ewma_detector(lam: float = 0.1, width: float = 2.7) -> Detector:
    def detect(points: FloatArray, state: FloatArray | None) -> tuple[BoolArray, FloatArray]:
        result = ewma(points, 0.0, 1.0, lam=lam, width=width, initial=_column(state, 0))
        return result.signal, result.last[:, None]

    return detect


def cusum_detector(k: float = 0.5, h: float = 5.0) -> Detector:
    def detect(points: FloatArray, state: FloatArray | None) -> tuple[BoolArray, FloatArray]:
        start = None if state is None else (state[:, 0], state[:, 1])
        result = cusum(points, 0.0, 1.0, k=k, h=h, initial=start)
        return result.signal, np.column_stack([result.last_upper, result.last_lower])

    return detect


def _column(state: FloatArray | None, i: int) -> FloatArray | None:
    return None if state is None else state[:, i]


def run_lengths(
    detector: Detector,
    *,
    runs: int,
    rng: np.random.Generator,
    shift: float = 0.0,
    max_points: int = 1_000_000,
) -> IntArray:
    """The run length (index of the first flag, counted from 1) of each of `runs` runs."""
    lengths = np.zeros(runs, dtype=np.int64)
    active = np.arange(runs)
    state: FloatArray | None = None
    done, block = 0, 64
    while active.size:
        if done >= max_points:
            raise RuntimeError(f"{active.size} runs still in control after {max_points} points")
        points = rng.standard_normal((active.size, block)) + shift
        flags, state = detector(points, state)
        hit = flags.any(axis=1)
        lengths[active[hit]] = done + flags[hit].argmax(axis=1) + 1
        active, state = active[~hit], state[~hit]
        done += block
        block = min(2 * block, 1024)  # short blocks first: out-of-control runs end early
    return lengths


def arl(lengths: IntArray) -> tuple[float, float]:
    """Mean run length and its standard error from the sample."""
    return float(lengths.mean()), float(lengths.std(ddof=1) / np.sqrt(lengths.size))
