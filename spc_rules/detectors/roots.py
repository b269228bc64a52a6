"""A root of one increasing function, for ``runlength.solve_h``: a bracket found by stepping
up from a point below it, then the root inside the bracket."""

from __future__ import annotations

from collections.abc import Callable


class UnresolvedError(RuntimeError):
    """The function cannot be evaluated this far up (a chain past what its solve resolves)."""


def increasing_root(
    f: Callable[[float], float],
    low: float,
    high: float,
    *,
    step: float,
    ceiling: float,
    xtol: float,
    rtol: float,
) -> float:
    """The root of an increasing ``f`` at or above ``low`` (``low`` itself where f(low) >= 0):
    steps up from ``high`` by ``step`` until f is not negative, then ``bracketed_root``. Where f
    raises ``UnresolvedError`` the step goes back half way to the last point below the root, so a
    root just below that limit is still found; past ``ceiling``, or with no room left below
    the limit, there is none to find (RuntimeError, or the ``UnresolvedError`` itself)."""
    at_low = f(low)
    if at_low >= 0.0:
        return low
    while True:
        try:
            at_high = f(high)
        except UnresolvedError:
            if high - low <= xtol + rtol * high:
                raise
            high = 0.5 * (low + high)
            continue
        if at_high >= 0.0:
            # The bracket's two values are known: each evaluation may be nine chain solves.
            return bracketed_root(f, low, high, xtol=xtol, rtol=rtol, known=(at_low, at_high))
        low, at_low, high = high, at_high, step * high
        if high > ceiling:
            raise RuntimeError(f"no root up to {ceiling:g}")


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
