"""A practical floor (issue 22, point 5): no page for a move smaller than the chart's
``min_effect``, however small sigma is, while larger moves page as fast as before."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from spc_rules.sidecar.config.model import ChartConfig
from tests.sidecar.test_alarms import CHART, STEP, T0, _cycles, _points

HOUR = int(3600 / STEP)


def _bumps(rng: np.random.Generator, series: int) -> tuple[np.ndarray, dict[str, slice]]:
    """sigma_log 0.05: 6 h in control, then 1.1x for 3 h, 1 h back, 1.25x for 3 h, 1 h back,
    1.5x for 1 h."""
    at = {"1.1x": slice(6 * HOUR, 9 * HOUR), "1.25x": slice(10 * HOUR, 13 * HOUR)}
    at["1.5x"] = slice(14 * HOUR, 15 * HOUR)
    values = rng.lognormal(0.0, 0.05, (series, 15 * HOUR))
    for name, where in at.items():
        values[:, where] *= float(name[:-1])
    return values, at


def _pages(chart: ChartConfig, values: np.ndarray) -> list[np.ndarray]:
    times = T0 + np.arange(3600.0, values.shape[1] * STEP + 1.0, 300.0)
    results, _, _ = _cycles(chart, _points(values), times)
    rows = values.shape[0]
    return [np.concatenate([r.alarms["page"].opened[i] for r in results]) for i in range(rows)]


@pytest.mark.slow
def test_a_steady_series_pages_a_1_5x_step_but_not_1_1x_nor_1_25x() -> None:
    values, at = _bumps(np.random.default_rng(71), 4)
    stamps = T0 + STEP * np.arange(values.shape[1])
    assert CHART.min_effect == 1.3

    def inside(opened: np.ndarray, where: slice) -> int:
        first, last = stamps[where.start], stamps[where.stop - 1]
        return int(np.count_nonzero((opened >= first) & (opened <= last)))

    floored = _pages(CHART, values)
    for opened in floored:
        # One page, for the 1.5x step, within 3 minutes of it; none before it.
        assert opened.size == 1 and inside(opened, at["1.5x"]) == 1
        assert opened[0] - stamps[at["1.5x"].start] <= 180.0
    # Without the floor the design's shift is capped at 3 sigma (1.16x here): 1.1x pages.
    bare = _pages(dataclasses.replace(CHART, min_effect=None), values)
    assert all(inside(opened, at["1.1x"]) >= 1 for opened in bare)


def test_the_floor_leaves_a_2x_step_at_sigma_0_3_as_it_was() -> None:
    rng = np.random.default_rng(72)
    values = rng.lognormal(0.0, 0.3, (8, 8 * HOUR))
    values[:, -HOUR // 2 :] *= 2.0
    end = np.array([T0 + STEP * values.shape[1] + 1.0])
    floored, _, _ = _cycles(CHART, _points(values), end)
    bare, _, _ = _cycles(dataclasses.replace(CHART, min_effect=None), _points(values), end)
    for row in range(8):
        opened = floored[0].alarms["page"].opened[row]
        assert opened.size == 1
        np.testing.assert_array_equal(opened, bare[0].alarms["page"].opened[row])
