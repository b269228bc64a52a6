"""A replay builds a fixed-range baseline's points as the live decode stage does
(``stages.chart_points``): the shard's series, points of fewer observations than
``min_subgroup`` dropped."""

from __future__ import annotations

import numpy as np

from spc_rules.backtest.replay import Replay
from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.query.decode import RawSeries

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
CHARTS = """
charts:
  - name: latency
    metric: m
    by: [target]
    min_subgroup: 2
    evaluation: 10m
    baseline: {start: 2023-11-14T22:13:20Z, end: 2023-11-14T23:13:20Z}
"""


def _histogram(target: str, counts: np.ndarray) -> list[RawSeries]:
    """A histogram's _sum and _count scraped every 15 s from T0, ``counts`` new requests
    (of 0.2 s each) between scrapes."""
    ts = T0 + 15.0 * np.arange(counts.size, dtype=np.float64)
    total = np.cumsum(counts).astype(np.float64)
    return [
        RawSeries({"__name__": "m_count", "target": target}, ts, total),
        RawSeries({"__name__": "m_sum", "target": target}, ts, 0.2 * total),
    ]


def test_a_fixed_baseline_drops_the_points_of_too_few_requests() -> None:
    config = load_text(CHARTS, "charts.yml")
    counts = np.tile([1, 3, 1, 4], 2 * 60)  # two hours, every other interval a single request
    replay = Replay(config, _histogram("a", counts) + _histogram("b", counts))
    replay.cycle(T0 + 2 * 3600)
    baseline = replay.baselines["latency"].points
    assert len(baseline) == 2
    for points in baseline.values():
        assert points.sizes.size > 100
        assert points.sizes.min() >= 2.0  # the live stage's drop_small, as in the window
