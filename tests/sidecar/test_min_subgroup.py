"""Points of too few observations are skipped, not plotted (real traffic: docs/engines.md)."""

from __future__ import annotations

import numpy as np
import pytest

from servicekit.errors import ConfigError
from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.query.points import Points
from spc_rules.sidecar.stages import drop_small


def test_a_chart_skips_points_of_fewer_requests_than_min_subgroup() -> None:
    (chart,) = load_text(
        "charts:\n  - {name: a, metric: m, by: [model], min_subgroup: 3}\n", "t.yml"
    ).charts
    assert chart.min_subgroup == 3
    points = Points(
        np.array([10.0, 20.0, 30.0, 40.0]),
        np.array([1.0, 2.0, 3.0, 4.0]),
        np.array([1.0, 5.0, 2.0, 3.0]),
        45.0,
    )
    kept = drop_small(chart, {("m",): points})[("m",)]
    assert kept.timestamps.tolist() == [20.0, 40.0]
    assert kept.sizes.tolist() == [5.0, 3.0]
    assert kept.last_sample == 45.0  # still scraped: the series is alive


def test_every_point_counts_by_default_and_presets_skip_thin_intervals() -> None:
    (chart,) = load_text("charts:\n  - {name: a, metric: m}\n", "t.yml").charts
    points = Points(np.array([1.0]), np.array([1.0]), np.array([1.0]))
    assert drop_small(chart, {(): points})[()] is points
    with pytest.raises(ConfigError) as caught:
        load_text("charts:\n  - {name: a, metric: m, min_subgroup: 0}\n", "t.yml")
    assert str(caught.value) == "t.yml:2: charts[0].min_subgroup: must be at least 1, got 0"
