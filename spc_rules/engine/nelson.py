"""Nelson rules 1-8, vectorized over series and points, exactly as docs/spc.md defines them."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from spc_rules.engine.core import (
    BoolArray,
    FloatArray,
    blocks,
    prepare,
    run_of,
    shifted_and,
    standardize,
    window_count,
)
from spc_rules.engine.lognormal import standardize_subgroups

RULE_COUNT = 8

RULE_DESCRIPTIONS: tuple[str, ...] = (
    "one point beyond 3 sigma",
    "9 points in a row on one side of the center",
    "6 points in a row steadily increasing or decreasing",
    "14 points in a row alternating up and down",
    "2 of 3 points beyond 2 sigma on the same side",
    "4 of 5 points beyond 1 sigma on the same side",
    "15 points in a row within 1 sigma",
    "8 points in a row beyond 1 sigma on either side",
)


def zscores(
    values: ArrayLike, center: ArrayLike, sigma: ArrayLike, n: ArrayLike | None = None
) -> FloatArray:
    """z = (x - center) / (sigma / sqrt(n)); NaN where the point or its limits are missing."""
    x, c, s, size = prepare(values, center, sigma, n)
    z, _ = standardize(x, c, s, size)
    return z.reshape(np.shape(values))


def nelson_rules(
    values: ArrayLike,
    center: ArrayLike,
    sigma: ArrayLike,
    n: ArrayLike | None = None,
    *,
    rule2_run: int = 9,
) -> BoolArray:
    """Flags of Nelson rules 1-8, shape (8, *values.shape); rule r is at index r-1.

    values: one series (1-D) or series x points (2-D, rows padded with NaN).
    center, sigma: scalars, or one per series (sigma of a single observation).
    n: optional subgroup sizes, broadcastable to values; a point of size n has
        z = (x - center) / (sigma / sqrt(n)). A size below 1 (or NaN) is a missing point.
    rule2_run: the run length of rule 2 (9 for Nelson, 8 for the Western Electric set).

    A flag marks the point that completes a pattern; for runs (rules 2, 3, 4, 7, 8) every
    later point while the run continues is flagged too. A missing point (NaN value, or a series
    whose center/sigma are not usable) is never flagged and breaks every run and window it
    belongs to; windows reaching before the first point are incomplete and never flag.
    Rules 3 and 4 read the raw values' differences, the others read z.
    """
    x, c, s, size = prepare(values, center, sigma, n)
    return rules_prepared(x, c, s, size, rule2_run).reshape((RULE_COUNT, *np.shape(values)))


def rules_prepared(
    x: FloatArray,
    center: FloatArray,
    sigma: FloatArray,
    n: FloatArray | None,
    rule2_run: int,
    *,
    lognormal: bool = False,
) -> BoolArray:
    """Flags (8, series, points) of prepared input: x (series, points), center and sigma
    (series, 1) columns, n like x. `lognormal`: x is ln(xbar), center and sigma mu and sigma of
    one observation, and z follows the log option's subgroup model
    (`spc_rules.engine.lognormal`)."""
    if rule2_run < 1:
        raise ValueError(f"rule2_run must be at least 1, got {rule2_run}")
    out = np.empty((RULE_COUNT, *x.shape), dtype=np.bool_)
    for rows in blocks(*x.shape):
        block_n = None if n is None else n[rows]
        block = (x[rows], center[rows], sigma[rows], block_n)
        _rules_into(out[:, rows], block, rule2_run, lognormal)
    return out


def _rules_into(
    out: BoolArray,
    block: tuple[FloatArray, FloatArray, FloatArray, FloatArray | None],
    rule2_run: int,
    lognormal: bool,
) -> None:
    """All eight rules of one block (x, center, sigma, n), written into out (8, series, points)."""
    x = np.ascontiguousarray(block[0])
    _, center, sigma, n = block
    if lognormal and n is not None:
        z, valid = standardize_subgroups(x, center, sigma, n)
    else:
        z, valid = standardize(x, center, sigma, n)
    # Comparisons with NaN are False, so a missing point fails every condition below.
    above1, below1 = z > 1, z < -1
    np.logical_or(z > 3, z < -3, out=out[0])
    np.logical_or(run_of(z > 0, rule2_run), run_of(z < 0, rule2_run), out=out[1])
    rise, fall = _steps(x, valid)
    np.logical_or(run_of(rise, 5), run_of(fall, 5), out=out[2])
    alternate = shifted_and(rise, fall, 1)
    alternate |= shifted_and(fall, rise, 1)
    out[3] = run_of(alternate, 12)
    out[4] = _same_side(z > 2, z < -2, run_of(valid, 3), hits=2, width=3)
    out[5] = _same_side(above1, below1, run_of(valid, 5), hits=4, width=5)
    out[6] = run_of((z < 1) & (z > -1), 15)
    out[7] = run_of(above1 | below1, 8)


def _steps(x: FloatArray, valid: BoolArray) -> tuple[BoolArray, BoolArray]:
    """rise[i]: x[i] > x[i-1], fall[i]: x[i] < x[i-1], both points valid; equal pairs neither.

    alt[i] (rule 4) is then rise[i] & fall[i-1] or fall[i] & rise[i-1]: the step into point i
    reverses the step into point i-1.
    """
    both = shifted_and(valid, valid, 1)
    rise = np.zeros(x.shape, dtype=np.bool_)
    fall = np.zeros(x.shape, dtype=np.bool_)
    flat = x.reshape(-1)
    np.greater(flat[1:], flat[:-1], out=rise.reshape(-1)[1:])
    np.less(flat[1:], flat[:-1], out=fall.reshape(-1)[1:])
    rise &= both  # also clears column 0, which compared with the previous series
    fall &= both
    return rise, fall


def _same_side(
    above: BoolArray, below: BoolArray, complete: BoolArray, hits: int, width: int
) -> BoolArray:
    """`hits` of the last `width` points on one side, the newest among them, window complete."""
    flags = above & (window_count(above, width) >= hits)
    flags |= below & (window_count(below, width) >= hits)
    flags &= complete  # also drops the first columns, where window_count saw another series
    return flags
