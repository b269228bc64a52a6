"""Charts judged in process, without a backend, for the tests of what /metrics publishes:
in-control series with points every 15 s for an hour and a half."""

from __future__ import annotations

import numpy as np

from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.families import ChartView
from spc_rules.sidecar.judge.ledger import ViolationLedger
from spc_rules.sidecar.query.points import Points, SeriesKey

STEP = 15.0
POINTS = 360
# Every rule (1-8 by default), EWMA, CUSUM and a USL: the most a chart series publishes.
FULL = """
charts:
  - name: full
    metric: bench_duration_seconds
    by: [target]
    evaluation: 30m
    baseline: 1h
    usl: 3s
    ewma: true
    cusum: true
"""


def judged(config: str, series: int, now: float, *, sizes: str = "one") -> ChartView:
    """The first chart of ``config`` judged at ``now`` over ``series`` series keyed t00000...
    ``sizes``: "one" (individuals), "many" (subgroups of 2 to 40), "p" (shares of 3 to 200
    trials, for a p chart)."""
    chart = load_text(config, "test").charts[0]
    rng = np.random.default_rng(7)
    stamps = now - STEP * np.arange(POINTS, dtype=np.float64)[::-1]
    points: dict[SeriesKey, Points] = {}
    for s in range(series):
        if sizes == "p":
            n = rng.integers(3, 200, POINTS).astype(np.float64)
            values = rng.binomial(n.astype(np.int64), 0.05) / n
        else:
            n = (np.ones(POINTS) if sizes == "one" else rng.integers(2, 40, POINTS)).astype(
                np.float64
            )
            values = rng.lognormal(0.0, 0.3 / np.sqrt(n))
        points[(f"t{s:05d}",)] = Points(stamps, values.astype(np.float64), n, stamps[-1])
    result, violations = ViolationLedger(counted_after=now - 7200).judge(chart, points, now)
    return ChartView(result, violations)
