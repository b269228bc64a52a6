"""Each series' paging design, looked up by its sigma and point interval."""

from __future__ import annotations

import numpy as np
import pytest

from spc_rules.detectors.paging import design_for
from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.judge.incremental import designs as module
from spc_rules.sidecar.judge.reference import reference_points
from spc_rules.sidecar.query.memo import Memo

CHART = load_text("charts: [{name: a, metric: m, by: [target]}]\n", "t.yml").charts[0]


def test_every_row_gets_the_design_of_its_own_sigma_and_interval() -> None:
    sigma = np.array([0.2, 0.3, 0.3, 0.5, 0.4])
    intervals = np.array([15.0, 15.0, 60.0, np.nan, 30.0])
    ok = np.array([True, True, True, True, False])
    k, h, clip = module.designs(CHART, "page", intervals, sigma, ok)
    assert ok.tolist() == [True, True, True, False, False]  # no interval: not judged
    for row in (0, 1, 2):
        want = design_for(
            CHART.paging.policy,
            "page",
            log_scale=CHART.log,
            sigma_fit=float(sigma[row]),
            point_interval_s=float(intervals[row]),
            bad_side=CHART.direction,
            reference_points=reference_points(CHART, "page", float(intervals[row])),
        )
        assert (k[row], h[row], clip[row]) == (want.k, want.h, want.clip)
    assert h[1] != h[2]  # the interval changes the budget in points


def test_past_its_limit_the_memo_keeps_only_the_designs_in_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(module, "DESIGNS_KEPT", 4)
    monkeypatch.setattr(module, "_KNOWN", Memo(64))
    intervals = np.full(2, 15.0)
    for sigma in np.linspace(0.2, 0.6, 10):
        module.designs(CHART, "ticket", intervals, np.array([sigma, 0.25]), np.ones(2, bool))
    (kept,) = module._KNOWN.values()
    assert len(kept) <= 4 + 1
    assert (0.25, 15.0) in kept  # in use every time: never forgotten


def test_charts_whose_references_differ_get_their_own_designs() -> None:
    short = load_text(
        "charts: [{name: b, metric: m, by: [target], paging: {reference: 10m}}]\n", "t.yml"
    ).charts[0]
    pinned = load_text(
        "charts: [{name: c, metric: m, by: [target], baseline: {center: 1s, sigma: 0.3}}]\n",
        "t.yml",
    ).charts[0]
    sigma, intervals = np.array([0.3]), np.array([15.0])
    got = [module.designs(c, "page", intervals, sigma, np.ones(1, bool))[1][0] for c in
           (CHART, short, pinned, CHART)]  # fmt: skip
    assert len({got[0], got[1], got[2]}) == 3  # a reference of fewer points pages later
    assert got[3] == got[0]
