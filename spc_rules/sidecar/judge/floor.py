"""The page's practical floor (docs/paging.md, "A practical floor"): no page for a move
smaller than the chart's ``min_effect``, however small its sigma."""

from __future__ import annotations

import math

import numpy as np

from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.query.decode import FloatArray


def floored(
    chart: ChartConfig, z: FloatArray, k: FloatArray, sigma: FloatArray, sizes: FloatArray
) -> FloatArray:
    """The page's practical floor (docs/paging.md): every point moves against the bad side
    by what a move of ``min_effect`` exceeds k (``both``: |z| shrinks towards 0 by it), so
    a move of min_effect adds nothing on average, a larger one is paged as fast as before
    once clipped, and in control S only falls. 0 unless the design's shift is capped below
    min_effect in sigma (a very steady series)."""
    effect = chart.min_effect
    if effect is None or effect <= 1.0 or not chart.log or chart.proportion is not None:
        return z
    with np.errstate(divide="ignore", invalid="ignore"):
        at = math.log(effect) / sigma  # a move of min_effect, per individual value (z units)
        n = np.where(np.isfinite(sizes), sizes, 1.0)
        off = np.nan_to_num(np.maximum(at[:, None] * np.sqrt(n) - k[:, None], 0.0))
    if not off.any():
        return z
    if chart.direction == "up":
        moved: FloatArray = z - off
    elif chart.direction == "down":
        moved = z + off
    else:
        moved = np.sign(z) * np.maximum(np.abs(z) - off, 0.0)
    return moved
