"""Array plumbing shared by the rules, limits and charts: input checks, z-scores, windows.

Every function works on the last axis (time) and broadcasts over a leading series axis, so a
1-D series and a 2-D (series x points) batch go through the same code.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

BLOCK_POINTS = 1 << 18
DOUBLE_MAX = float(np.finfo(np.float64).max)


def as_values(values: ArrayLike) -> FloatArray:
    """`values` as float64, one series (1-D) or series x points (2-D)."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim not in (1, 2):
        raise ValueError(f"values must be 1-D or 2-D, got {x.ndim}-D")
    return x


def per_series(param: ArrayLike, rows: int, name: str) -> FloatArray:
    """A scalar, or one value per series, as a (rows, 1) column that broadcasts over points."""
    p = np.asarray(param, dtype=np.float64)
    if p.ndim == 0 or p.shape == (rows,):
        return np.array(np.broadcast_to(p, (rows,)))[:, None]
    raise ValueError(f"{name} must be a scalar or have one value per series, got shape {p.shape}")


def sizes(n: ArrayLike | None, x: FloatArray) -> FloatArray | None:
    """Subgroup sizes broadcast to the shape of `x`; None stands for n = 1 everywhere."""
    if n is None:
        return None
    size = np.asarray(n, dtype=np.float64)
    try:
        return np.broadcast_to(size, x.shape)
    except ValueError:
        raise ValueError(f"n of shape {size.shape} does not match values {x.shape}") from None


def prepare(
    values: ArrayLike, center: ArrayLike, sigma: ArrayLike, n: ArrayLike | None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]:
    """Values as (series, points), center and sigma as (series, 1) columns, n like values."""
    x = as_values(values)
    size = sizes(n, x)
    x2 = as_2d(x)
    c = per_series(center, x2.shape[0], "center")
    s = per_series(sigma, x2.shape[0], "sigma")
    return x2, c, s, None if size is None else size.reshape(x2.shape)


def blocks(rows: int, points: int) -> list[slice]:
    """Slices of whole series holding about BLOCK_POINTS points each.

    Row blocks keep every temporary array small enough to stay in cache and to be reused by
    the allocator; on 10,000 x 1,000 points this is over twice as fast as whole-array passes.
    """
    step = max(1, BLOCK_POINTS // max(points, 1))
    return [slice(i, min(i + step, rows)) for i in range(0, rows, step)]


def present(x: FloatArray, n: FloatArray | None) -> BoolArray:
    """A point exists when its value is finite and its subgroup has at least one observation."""
    ok = np.isfinite(x)
    if n is not None:
        ok &= n >= 1  # NaN compares False, so a NaN size is missing too
    return ok


def standardize(
    x: FloatArray, center: FloatArray, sigma: FloatArray, n: FloatArray | None
) -> tuple[FloatArray, BoolArray]:
    """z = (x - center) / (sigma / sqrt(n)) and the mask of points that have a z.

    x and n are (series, points), center and sigma (series, 1) or like x. A point has no z
    (NaN, and it counts as missing everywhere) when it is missing itself or its series has no
    usable limits (center or sigma not finite, sigma not positive). A present point whose z is
    too large for a double (a sigma of subnormal size) gets the largest double of its sign: it
    is beyond every limit, not missing.
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # Same operation order as docs/spc.md, so boundary cases (abs(z) == 2) round the same way.
        sd = sigma if n is None else sigma / np.sqrt(n)
        z = np.subtract(x, center)
        z /= sd
    valid = np.isfinite(x)
    valid &= np.isfinite(center) & np.isfinite(sd) & (sd > 0)  # NaN compares False
    if n is not None:
        valid &= n >= 1  # NaN compares False, so a NaN size is missing too
    np.clip(z, -DOUBLE_MAX, DOUBLE_MAX, out=z)  # NaN stays NaN
    np.copyto(z, np.nan, where=~valid)
    return z, valid


def shifted_and(a: BoolArray, b: BoolArray, step: int) -> BoolArray:
    """out[:, i] = a[:, i] & b[:, i - step], False for i < step.

    Works on the flattened (series, points) block, which is several times faster than 2-D
    slices; the first `step` columns, which would read the previous series, are then cleared.
    """
    if step >= a.shape[-1]:
        return np.zeros(a.shape, dtype=np.bool_)
    out = np.empty(a.shape, dtype=np.bool_)
    flat, fa, fb = out.reshape(-1), a.reshape(-1), b.reshape(-1)
    np.logical_and(fa[step:], fb[: fa.size - step], out=flat[step:])
    out[:, :step] = False
    return out


def run_of(mask: BoolArray, k: int) -> BoolArray:
    """True where `mask` holds at a point and at the k-1 points just before it.

    mask is a C-contiguous (series, points) block; points before the start of a series count
    as False. Built by doubling the covered window: a run of 15 takes four ANDs, not fifteen.
    """
    if k < 1:
        raise ValueError(f"run length must be at least 1, got {k}")
    out = mask.copy()
    covered = 1
    while covered < k:
        step = min(covered, k - covered)
        out = shifted_and(out, out, step)
        covered += step
    return out


def window_count(mask: BoolArray, width: int) -> NDArray[np.uint8]:
    """How many of the point and the width-1 points before it satisfy `mask`.

    Counted on the flattened block: in the first width-1 columns of a series the count also
    sees the end of the previous series, so callers must ignore those (incomplete) windows.
    """
    count = mask.astype(np.uint8)
    flat, fm = count.reshape(-1), mask.reshape(-1)
    for shift in range(1, min(width, flat.size)):
        flat[shift:] += fm[: fm.size - shift]
    return count


def as_2d(x: FloatArray) -> FloatArray:
    """A 1-D series as a batch of one row; 2-D input unchanged."""
    return x[None, :] if x.ndim == 1 else x
