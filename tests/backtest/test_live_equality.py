"""The live sidecar and the backtest give the same episodes on the same data.

The CSV's counters (``counters.stored_series``) are backfilled into a real Prometheus; the
real ``Sidecar`` runs its cycles against it with a simulated clock at the backtest's cycle
times and its published incidents are collected cycle by cycle. The backtest replays the
CSV, and reads the same range back from that Prometheus (``--prometheus.url``): all three
must list the same page and ticket episodes, member for member.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from spc_rules.backtest.cli import run
from spc_rules.backtest.counters import stored_series
from spc_rules.backtest.csvinput import read_csv
from spc_rules.backtest.episodes import Episode, episodes
from spc_rules.backtest.history import Span
from spc_rules.backtest.prometheus import read_history
from spc_rules.backtest.replay import Replay, cycle_times
from spc_rules.sidecar.config.loader import SidecarConfig
from spc_rules.sidecar.incidents.board import Incident
from spc_rules.sidecar.query.decode import RawSeries
from spc_rules.sidecar.service import Sidecar
from testkit.backends import backfilled_prometheus
from tests.backtest.fleets import CHARTS, ENDPOINTS, METRIC, MODELS, T0, write
from tests.backtest.support import config_for
from tests.sidecar.pair import Clock


def _small_fleet(path: Path) -> Path:
    """2 vantages x 3 endpoints x 2 models at 15 s: 50 calm minutes, one target 3x for 10
    minutes, calm, then one vantage's probes fail (dns) for 6 minutes."""
    rng = np.random.default_rng(8)
    n = int(95 * 60 / 15)
    rows = []
    for vantage in ("eu-west", "us-east"):
        for endpoint in ENDPOINTS:
            for model in MODELS[:2]:
                target = f"{endpoint.split('.')[1]}/{model}"
                ts = T0 + 15.0 * np.arange(n) + rng.uniform(0, 3)
                values = np.exp(rng.normal(0.2, 0.3) + rng.normal(0, 0.25, n))
                slow = (ts >= T0 + 50 * 60) & (ts < T0 + 60 * 60) & (target == "alpha/m-small")
                values[slow] *= 3.0
                dns = (ts >= T0 + 80 * 60) & (ts < T0 + 86 * 60) & (vantage == "eu-west")
                for t, v, failed in zip(ts, values, dns, strict=True):
                    value, error = ("", "dns") if failed else (f"{v:.6f}", "")
                    rows.append(
                        [f"{t:.3f}", METRIC, value, error, target, model, endpoint, vantage]
                    )
    return write(path, rows)


def openmetrics(stored: Sequence[RawSeries]) -> str:
    """The counters as OpenMetrics for ``promtool tsdb create-blocks-from openmetrics``: each
    histogram scrape as its +Inf bucket, count and sum lines; the target info as a gauge."""
    histograms: dict[tuple[str, str], dict[str, RawSeries]] = {}
    info = []
    for s in stored:
        name = s.labels["__name__"]
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()) if k != "__name__")
        if name == "llmscope_target_info":
            info += [f"{name}{{{labels}}} 1 {t:.3f}" for t in s.timestamps.tolist()]
        else:
            family, suffix = name.rsplit("_", 1)
            histograms.setdefault((family, labels), {})[suffix] = s
    lines: list[str] = []
    for family in sorted({f for f, _ in histograms}):
        lines.append(f"# TYPE {family} histogram")
        for (name, labels), parts in sorted(histograms.items()):
            if name != family:
                continue
            count, total = parts["count"], parts.get("sum")
            le = f'{labels},le="+Inf"' if labels else 'le="+Inf"'
            for i, t in enumerate(count.timestamps.tolist()):
                n = float(count.values[i])
                lines.append(f"{family}_bucket{{{le}}} {n!r} {t:.3f}")
                lines.append(f"{family}_count{{{labels}}} {n!r} {t:.3f}")
                if total is not None:
                    lines.append(f"{family}_sum{{{labels}}} {float(total.values[i])!r} {t:.3f}")
    lines += ["# TYPE llmscope_target_info gauge", *info, "# EOF"]
    return "\n".join(lines) + "\n"


async def _live(url: str, config: SidecarConfig, times: Sequence[float]) -> list[Incident]:
    clock = Clock(times[0])
    sidecar = Sidecar(lambda: config, url, clock=clock)
    seen: dict[int, Incident] = {}
    try:
        for now in times:
            clock.now = now
            await sidecar.cycle()
            for incident in sidecar.incidents.incidents():
                seen.setdefault(id(incident), incident)
    finally:
        await sidecar.aclose()
    return list(seen.values())


def _comparable(found: list[Episode]) -> list[tuple[object, ...]]:
    return [
        (e.severity, e.scope, e.subject, e.started, e.opened, e.resolved, e.members) for e in found
    ]


def test_the_live_sidecar_and_the_backtest_page_the_same_episodes(tmp_path: Path) -> None:
    path = _small_fleet(tmp_path / "fleet.csv")
    config = config_for(path, CHARTS)
    stored = stored_series(read_csv(path), config.incidents.reason_label)
    span = Span.of(stored)
    replayed = episodes(run(config, stored, span.first, span.last, skip=False).incidents)
    times = list(cycle_times(span.first, span.last, config.interval))
    with backfilled_prometheus(openmetrics(stored)) as prom:
        live = episodes(asyncio.run(_live(prom.url, config, times)))
        read_back = asyncio.run(read_history(prom.url, config, times[0], times[-1]))
    from_prometheus = episodes(run(config, read_back, times[0], times[-1]).incidents)
    pages = [e for e in replayed if e.severity == "page"]
    # The data has incidents to compare: the slow target and the failing vantage.
    assert {(e.scope, e.subject) for e in pages} >= {("target", "alpha/m-small")}
    assert any(e.scope == "vantage" and e.subject == "eu-west" for e in pages)
    assert _comparable(live) == _comparable(replayed)
    assert _comparable(from_prometheus) == _comparable(replayed)
    assert [e.evidence for e in live] == [e.evidence for e in replayed]


def _sparse_fleet(path: Path) -> Path:
    """One endpoint's two models probed every 5 minutes for 38 hours; one model 3x for two
    hours from the 30th (the stretched windows read 28 hours)."""
    rng = np.random.default_rng(9)
    n = int(38 * 3600 / 300)
    rows = []
    for model in MODELS[:2]:
        target = f"{ENDPOINTS[0].split('.')[1]}/{model}"
        ts = T0 + 300.0 * np.arange(n) + rng.uniform(0, 20)
        values = np.exp(rng.normal(0.2, 0.3) + rng.normal(0, 0.25, n))
        slow = (ts >= T0 + 30 * 3600) & (ts < T0 + 32 * 3600) & (model == MODELS[0])
        values[slow] *= 3.0
        for t, v in zip(ts, values, strict=True):
            rows.append([f"{t:.3f}", METRIC, f"{v:.6f}", "", target, model, ENDPOINTS[0], "here"])
    return write(path, rows)


def test_a_sparse_chart_is_replayed_with_the_windows_the_live_sidecar_stretches(
    tmp_path: Path,
) -> None:
    path = _sparse_fleet(tmp_path / "sparse.csv")
    config = config_for(path, CHARTS + "global:\n  interval: 30m\n")
    stored = stored_series(read_csv(path), config.incidents.reason_label)
    span = Span.of(stored)
    replay = Replay(config, stored)
    times = list(cycle_times(span.first, span.last, config.interval))
    replayed = episodes(replay.run(times).incidents)
    duration = next(c for c in config.charts if c.name == "duration")
    # Points 5 minutes apart: every window four times the configured one (judge/cadence.py).
    assert replay.ledger.effective(duration).cadence_scale == 4
    with backfilled_prometheus(openmetrics(stored)) as prom:
        live = episodes(asyncio.run(_live(prom.url, config, times)))
    assert any(e.scope == "target" and e.subject.endswith(MODELS[0]) for e in replayed)
    assert _comparable(live) == _comparable(replayed)
