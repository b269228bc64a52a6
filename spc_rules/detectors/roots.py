"""A root of one increasing function inside a bracket, for ``runlength.solve_h``."""

from __future__ import annotations

from collections.abc import Callable


def bracketed_root(
    f: Callable[[float], float],
    low: float,
    high: float,
    *,
    xtol: float,
    rtol: float,
    known: tuple[float, float] | None = None,
) -> float:
    """The root of an increasing ``f`` with f(low) < 0 <= f(high), to within ``xtol + rtol *
    |x|``: false position with the Illinois halving, which moves both ends of the bracket
    (superlinear on the nearly linear log ARL), and a bisection whenever three steps did not
    halve the bracket (a strongly curved ``f``); Brent's method does the same in more
    code. Written here because importing
    scipy.optimize for one root costs the sidecar 24 MiB of RSS.

    known: f(low) and f(high) where the caller has them (finding the bracket took them), so
    neither costs a second evaluation."""
    f_low, f_high = known if known is not None else (f(low), f(high))
    if f_high == 0.0:
        return high
    side, steps, width = 0, 0, high - low
    while high - low > (tol := xtol + rtol * abs(high)):
        steps += 1
        x = (low * f_high - high * f_low) / (f_high - f_low)
        if steps == 3 or not low < x < high:  # three steps since the bracket halved: bisect
            steps, x = 0, 0.5 * (low + high)
        # At least half the tolerance from either end: near the root the next point then
        # lands on the far side and closes the bracket, instead of creeping up on it.
        x = min(max(x, low + 0.5 * tol), high - 0.5 * tol)
        value = f(x)
        if value == 0.0:
            return x
        if value > 0.0:
            high, f_high = x, value
            f_low = f_low / 2.0 if side == 1 else f_low
            side = 1
        else:
            low, f_low = x, value
            f_high = f_high / 2.0 if side == -1 else f_high
            side = -1
        if high - low <= 0.5 * width:
            steps, width = 0, high - low
    return (low * f_high - high * f_low) / (f_high - f_low) if f_high != f_low else high
