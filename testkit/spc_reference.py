"""Plain-loop reference versions, written point by point straight from docs/spc.md.

They share no code with spc_rules: the property tests compare the vectorized engine with these,
and benchmarks/bench_spc.py times them. One series at a time, Python floats, run counters.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

D2 = 1.128
D4 = 0.954


def zscore(x: float, center: float, sigma: float, n: float = 1.0) -> float | None:
    """docs/spc.md's z, or None for a missing point (or a series without usable limits)."""
    usable = math.isfinite(center) and math.isfinite(sigma) and sigma > 0
    if not (usable and math.isfinite(x) and math.isfinite(n) and n >= 1):
        return None
    z = (x - center) / (sigma / math.sqrt(n))
    return z if math.isfinite(z) else None


def nelson_loop(
    values: Sequence[float],
    center: float,
    sigma: float,
    n: Sequence[float] | None = None,
    rule2_run: int = 9,
) -> list[list[bool]]:
    """flags[r-1][i] for rules r = 1..8, with one counter per run rule."""
    sizes = [1.0] * len(values) if n is None else list(n)
    z = [zscore(x, center, sigma, m) for x, m in zip(values, sizes, strict=True)]
    flags = [[False] * len(values) for _ in range(8)]
    above = below = rises = falls = alternating = inside = outside = 0
    last_step = 0  # sign of the previous difference, 0 if there is none
    for i, zi in enumerate(z):
        if zi is None:  # a missing point breaks every run
            above = below = rises = falls = alternating = inside = outside = last_step = 0
            continue
        flags[0][i] = abs(zi) > 3

        above = above + 1 if zi > 0 else 0
        below = below + 1 if zi < 0 else 0
        flags[1][i] = above >= rule2_run or below >= rule2_run

        if i > 0 and z[i - 1] is not None:
            d = values[i] - values[i - 1]
            step = (d > 0) - (d < 0)
            rises = rises + 1 if step > 0 else 0
            falls = falls + 1 if step < 0 else 0
            if step == 0:
                alternating = 0
            elif last_step != 0 and step == -last_step:
                alternating += 1
            else:
                alternating = 1
            last_step = step
        flags[2][i] = rises >= 5 or falls >= 5  # 5 rises = 6 points
        flags[3][i] = alternating >= 13  # 13 alternating differences = 14 points

        flags[4][i] = _k_of_last(z, i, width=3, hits=2, beyond=2.0)
        flags[5][i] = _k_of_last(z, i, width=5, hits=4, beyond=1.0)

        inside = inside + 1 if abs(zi) < 1 else 0
        outside = outside + 1 if abs(zi) > 1 else 0
        flags[6][i] = inside >= 15
        flags[7][i] = outside >= 8
    return flags


def _k_of_last(z: list[float | None], i: int, width: int, hits: int, beyond: float) -> bool:
    if i + 1 < width:
        return False
    window = z[i + 1 - width : i + 1]
    present = [v for v in window if v is not None]
    if len(present) < width:  # a missing point breaks the window
        return False
    newest = present[-1]
    up = sum(1 for v in present if v > beyond)
    down = sum(1 for v in present if v < -beyond)
    return (newest > beyond and up >= hits) or (newest < -beyond and down >= hits)


def fit_loop(
    values: Sequence[float],
    n: Sequence[float] | None = None,
    method: str = "mr",
    min_points: int = 20,
    max_refits: int = 3,
) -> tuple[float, float, int] | None:
    """Phase I by loops: (center, sigma, refits taken), or None without limits."""
    sizes = [1.0] * len(values) if n is None else list(n)
    used = [
        math.isfinite(x) and math.isfinite(m) and m >= 1 for x, m in zip(values, sizes, strict=True)
    ]
    fit = _fit_once(values, sizes, used, method, min_points)
    if fit is None:
        return None
    refits = 0
    for _ in range(max_refits):
        center, sigma = fit
        beyond = [
            u and abs((x - center) / (sigma / math.sqrt(m))) > 3
            for x, m, u in zip(values, sizes, used, strict=True)
        ]
        if not any(beyond):
            break
        kept = [u and not b for u, b in zip(used, beyond, strict=True)]
        refit = _fit_once(values, sizes, kept, method, min_points)
        if refit is None:
            break
        fit, used, refits = refit, kept, refits + 1
    return fit[0], fit[1], refits


def _fit_once(
    values: Sequence[float], sizes: list[float], used: list[bool], method: str, min_points: int
) -> tuple[float, float] | None:
    points = [(x, m) for x, m, u in zip(values, sizes, used, strict=True) if u]
    if len(points) < min_points:
        return None
    center = sum(x * m for x, m in points) / sum(m for _, m in points)
    ranges = [
        abs(values[i] - values[i - 1]) * math.sqrt(2 / (1 / sizes[i] + 1 / sizes[i - 1]))
        for i in range(1, len(values))
        if used[i] and used[i - 1]
    ]
    if method == "std":
        sigma = math.sqrt(sum(m * (x - center) ** 2 for x, m in points) / (len(points) - 1))
    elif not ranges:
        return None
    elif method == "mr":
        sigma = sum(ranges) / len(ranges) / D2
    else:
        sigma = statistics.median(ranges) / D4
    return (center, sigma) if sigma > 0 else None


def ewma_loop(
    z: Sequence[float | None], lam: float = 0.1, width: float = 2.7
) -> tuple[list[float | None], list[bool]]:
    """EWMA of z-scores; a missing point keeps the state, has no statistic and no signal."""
    limit = width * math.sqrt(lam / (2 - lam))
    e = 0.0
    stats: list[float | None] = []
    signals: list[bool] = []
    for zi in z:
        if zi is None:
            stats.append(None)
            signals.append(False)
            continue
        e = lam * zi + (1 - lam) * e
        stats.append(e)
        signals.append(abs(e) > limit)
    return stats, signals


def cusum_loop(
    z: Sequence[float | None], k: float = 0.5, h: float = 5.0
) -> tuple[list[float | None], list[float | None], list[bool]]:
    """Two-sided tabular CUSUM of z-scores; missing points keep the state."""
    up = down = 0.0
    ups: list[float | None] = []
    downs: list[float | None] = []
    signals = []
    for zi in z:
        if zi is None:
            ups.append(None)
            downs.append(None)
            signals.append(False)
            continue
        up = max(0.0, up + zi - k)
        down = max(0.0, down - zi - k)
        ups.append(up)
        downs.append(down)
        signals.append(up > h or down > h)
    return ups, downs, signals


def capability_loop(
    values: Sequence[float], usl: float | None, lsl: float | None, min_points: int = 2
) -> tuple[float | None, float | None, float | None, float | None] | None:
    """(Cp, Cpk, Pp, Ppk) of individuals by loops; None where undefined, None for all four
    with too few points, no moving range or a zero sigma."""
    x = [v for v in values if math.isfinite(v)]
    ranges = [
        abs(values[i] - values[i - 1])
        for i in range(1, len(values))
        if math.isfinite(values[i]) and math.isfinite(values[i - 1])
    ]
    if len(x) < max(min_points, 2) or not ranges:
        return None
    mean = sum(x) / len(x)
    within = sum(ranges) / len(ranges) / D2
    overall = math.sqrt(sum((v - mean) ** 2 for v in x) / (len(x) - 1))
    if within <= 0 or overall <= 0:
        return None
    out: list[float | None] = []
    for sigma in (within, overall):
        cp = (usl - lsl) / (6 * sigma) if usl is not None and lsl is not None else None
        sides = []
        if usl is not None:
            sides.append(usl - mean)
        if lsl is not None:
            sides.append(mean - lsl)
        out += [cp, min(sides) / (3 * sigma)]
    return out[0], out[1], out[2], out[3]


def binomial_midp_score(events: int, n: int, p: float) -> float:
    """Phi^-1(P(X < x) + P(X = x) / 2), X ~ Binomial(n, p), summed term by term."""
    pmf = [math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(n + 1)]
    below = sum(pmf[:events])
    above = sum(pmf[events + 1 :])
    normal = statistics.NormalDist()
    lower, upper = below + pmf[events] / 2, above + pmf[events] / 2
    return normal.inv_cdf(lower) if lower <= 0.5 else -normal.inv_cdf(upper)


def p_fit_loop(
    events: Sequence[float],
    n: Sequence[float],
    laney: bool = False,
    min_points: int = 20,
    max_refits: int = 3,
) -> tuple[float, float, int] | None:
    """Phase I of a p (or Laney p') chart by loops: (p, sigma_z, refits), or None."""
    used = [m >= 1 and 0 <= e <= m for e, m in zip(events, n, strict=True)]
    fit = _p_fit_once(events, n, used, laney, min_points)
    if fit is None:
        return None
    refits = 0
    for _ in range(max_refits):
        p, sigma_z = fit
        beyond = [
            u and abs(binomial_midp_score(round(e), round(m), p) / sigma_z) > 3
            for e, m, u in zip(events, n, used, strict=True)
        ]
        if not any(beyond):
            break
        kept = [u and not b for u, b in zip(used, beyond, strict=True)]
        refit = _p_fit_once(events, n, kept, laney, min_points)
        if refit is None:
            break
        fit, used, refits = refit, kept, refits + 1
    return fit[0], fit[1], refits


def _p_fit_once(
    events: Sequence[float], n: Sequence[float], used: list[bool], laney: bool, min_points: int
) -> tuple[float, float] | None:
    if sum(used) < min_points:
        return None
    trials = sum(m for m, u in zip(n, used, strict=True) if u)
    hits = sum(e for e, u in zip(events, used, strict=True) if u)
    hits = min(max(hits, 0.5), trials - 0.5)  # half an event when the baseline saw none
    p = hits / trials
    if not laney:
        return p, 1.0
    z = [
        (e / m - p) / math.sqrt(p * (1 - p) / m) if u else None
        for e, m, u in zip(events, n, used, strict=True)
    ]
    pairs = zip(z[1:], z[:-1], strict=True)
    ranges = [abs(a - b) for a, b in pairs if a is not None and b is not None]
    if not ranges:
        return None
    return p, max(1.0, sum(ranges) / len(ranges) / D2)


def p_chart_loop(
    events: Sequence[float], n: Sequence[float], p: float, sigma_z: float = 1.0
) -> tuple[list[float | None], list[list[bool]]]:
    """z of every point and the Nelson flags of a p chart with center p: the proportions judged
    as X-bar points of 0/1 observations with sigma = sigma_z sqrt(p (1 - p)); rules 2-8 see
    only the points with n p and n (1 - p) both at least 5 (the others are missing for them)."""
    props = [e / m if m >= 1 and 0 <= e <= m else math.nan for e, m in zip(events, n, strict=True)]
    sizes = [m if math.isfinite(x) else math.nan for x, m in zip(props, n, strict=True)]
    sigma = sigma_z * math.sqrt(p * (1 - p))
    z = [zscore(x, p, sigma, m) for x, m in zip(props, sizes, strict=True)]
    flags = nelson_loop(props, p, sigma, sizes)
    near_normal = [
        x if math.isfinite(x) and m * min(p, 1 - p) >= 5 else math.nan
        for x, m in zip(props, sizes, strict=True)
    ]
    runs = nelson_loop(near_normal, p, sigma, sizes)
    return z, [flags[0], *runs[1:]]
