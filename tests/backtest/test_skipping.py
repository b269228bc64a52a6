"""Skipping quiet cycles changes nothing: a replay that runs every cycle and one that skips
the cycles where nothing can change list the same episodes, and the skipping one runs
far fewer cycles on a sparse history."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spc_rules.backtest.episodes import Episode
from tests.backtest.fleets import ENDPOINTS, METRIC, MODELS, T0, write
from tests.backtest.support import replay


def _sparse_fleet(path: Path) -> Path:
    """6 targets probed in rounds every 10 minutes for 8 hours; at hour 6 one target turns
    4x for an hour and another fails (timeout) for 40 minutes."""
    rng = np.random.default_rng(5)
    rows = []
    n = 8 * 6
    for endpoint in ENDPOINTS[:2]:
        for model in MODELS:
            target = f"{endpoint.split('.')[1]}/{model}"
            ts = T0 + 600.0 * np.arange(n) + rng.uniform(0, 10, n)
            values = np.exp(rng.normal(0.5, 0.3) + rng.normal(0, 0.2, n))
            values[(ts >= T0 + 6 * 3600) & (ts < T0 + 7 * 3600) & (target == "alpha/m-small")] *= 4
            down = (ts >= T0 + 6 * 3600) & (ts < T0 + 6 * 3600 + 2400) & (target == "beta/m-large")
            for t, v, failed in zip(ts, values, down, strict=True):
                value, error = ("", "timeout") if failed else (f"{v:.6f}", "")
                rows.append([f"{t:.3f}", METRIC, value, error, target, model, endpoint, "eu"])
    return write(path, rows)


CHARTS = f"""
charts:
  - name: duration
    metric: {METRIC}
    by: [target, vantage]
    transform: log
    evaluation: 4h
"""


def _same(found: list[Episode]) -> list[tuple[object, ...]]:
    return [
        (e.severity, e.scope, e.subject, e.started, e.opened, e.resolved, e.members, e.evidence)
        for e in found
    ]


def test_skipping_quiet_cycles_finds_what_running_every_cycle_finds(tmp_path: Path) -> None:
    path = _sparse_fleet(tmp_path / "sparse.csv")
    every, all_found = replay(path, CHARTS, skip=False)
    skipping, found = replay(path, CHARTS, skip=True)
    assert every.ran == every.cycles
    assert skipping.cycles == every.cycles
    assert skipping.ran < every.cycles / 2
    assert all_found, "the history must hold episodes to compare"
    assert _same(found) == _same(all_found)
