"""Assertions shared by the SPC tests."""

from __future__ import annotations

import pytest

from spc_rules import Limits


def assert_same_limits(got: Limits | None, expected: Limits | None) -> None:
    """Equal up to summation order (padding changes how numpy groups a row's sum)."""
    if got is None or expected is None:
        assert got is expected
        return
    assert got.center == pytest.approx(expected.center, rel=1e-12, abs=1e-12)
    assert got.sigma == pytest.approx(expected.sigma, rel=1e-12)
    assert (got.n_points, got.n_dropped, got.refits) == (
        expected.n_points,
        expected.n_dropped,
        expected.refits,
    )
