"""A root of one increasing function, for ``decision_interval.solve_h``: a bracket found by stepping
up from a point below it, then the root inside the bracket."""

from __future__ import annotations

import math
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
    ftol: float = 0.0,
    at_low: float | None = None,
) -> float:
    """The root of an increasing ``f`` at or above ``low`` (``low`` itself where f(low) >= 0):
    steps up from ``high`` by ``step`` until f is not negative, then ``bracketed_root``. Where f
    raises ``UnresolvedError`` the step goes back half way to the last point below the root, so a
    root just below that limit is still found; past ``ceiling``, or with no room left below
    the limit, there is none to find (RuntimeError, or the ``UnresolvedError`` itself).
    at_low: f(low), where the caller has it."""
    if at_low is None:
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
            return bracketed_root(
                f, low, high, xtol=xtol, rtol=rtol, ftol=ftol, known=(at_low, at_high)
            )
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
    ftol: float = 0.0,
    known: tuple[float, float] | None = None,
) -> float:
    """The root of an increasing ``f`` with f(low) < 0 <= f(high), to within ``xtol + rtol *
    |x|``, or the first point found with |f| <= ``ftol``: secant steps through the two latest
    points (superlinear on the nearly linear log ARL), kept inside the bracket, and a
    bisection whenever a step is not under half the step before the last (a strongly curved
    ``f``), as in Brent's method without its quadratic step. A step never lands nearer than
    half the tolerance to either end, so once the secant has the root the next point closes
    the bracket; with ``ftol`` the point the secant found is taken without closing it.
    Written here because importing scipy.optimize for one root costs the sidecar 24 MiB of
    RSS.

    known: f(low) and f(high) where the caller has them (finding the bracket took them), so
    neither costs a second evaluation."""
    f_low, f_high = known if known is not None else (f(low), f(high))
    if f_high <= ftol:
        return high
    if -f_low <= ftol:
        return low
    # b: the latest point (at first the end nearer the root by |f|), a: the one before.
    a, f_a, b, f_b = (high, f_high, low, f_low) if -f_low < f_high else (low, f_low, high, f_high)
    last = before = high - low  # the lengths of the last two steps
    while high - low > (tol := xtol + rtol * abs(high)):
        x = b - f_b * (b - a) / (f_b - f_a) if f_b != f_a else math.nan
        if not (low < x < high and abs(x - b) < 0.5 * before):
            x = 0.5 * (low + high)
        x = min(max(x, low + 0.5 * tol), high - 0.5 * tol)
        before, last = last, abs(x - b)
        value = f(x)
        if abs(value) <= ftol:  # near enough: closing the bracket would take one or two more
            return x
        if value > 0.0:
            high, f_high = x, value
        else:
            low, f_low = x, value
        a, f_a, b, f_b = b, f_b, x, value
    return (low * f_high - high * f_low) / (f_high - f_low) if f_high != f_low else high
