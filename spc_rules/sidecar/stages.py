"""The decode and compute stages of a cycle, run in a worker thread (docs/sidecar.md).

Decode turns each fetch's bodies into every chart's points once; compute judges each chart
whose fetches all came back. A chart whose decoding or evaluation raises is reported through
``broke`` and left out; the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from spc_rules.sidecar.config.loader import SidecarConfig
from spc_rules.sidecar.config.model import ChartConfig, IncidentSettings
from spc_rules.sidecar.families import ChartView
from spc_rules.sidecar.incidents.engine import Failures
from spc_rules.sidecar.incidents.failures import FailureRun, failure_runs
from spc_rules.sidecar.judge.evaluate import live_series
from spc_rules.sidecar.judge.ledger import ViolationLedger
from spc_rules.sidecar.progress import ChartProgress
from spc_rules.sidecar.query import fetching
from spc_rules.sidecar.query.counters import points_of
from spc_rules.sidecar.query.decode import RawSeries
from spc_rules.sidecar.query.fetching import CachedBaseline, Fetch, Pieces, Plan
from spc_rules.sidecar.query.points import Points, SeriesKey
from spc_rules.sidecar.query.promapi import QueryError
from spc_rules.sidecar.query.samplecache import Held
from spc_rules.sidecar.shard import Shard

# (chart name, "window" or "baseline") -> the chart's points
ChartPoints = dict[tuple[str, str], dict[SeriesKey, Points]]
# Called with a chart's name inside the ``except`` of its failure.
Broke = Callable[[str], None]


@dataclass(frozen=True)
class Decoded:
    points: ChartPoints
    errors: dict[str, QueryError]  # per chart: the first failed fetch
    held: dict[str, Held]  # window samples to keep for the next cycle
    failures: Failures = field(default_factory=dict)  # the failure chart's runs


@dataclass(frozen=True)
class Computed:
    """What the compute stage produced, applied on the event loop afterwards."""

    views: dict[str, ChartView] = field(default_factory=dict)
    baselines: dict[str, CachedBaseline] = field(default_factory=dict)


@dataclass(frozen=True)
class Stages:
    """What the stages use besides a cycle's own data: the shard's series, the charts'
    progress, the ledger of what each series keeps, and where a broken chart is reported."""

    shard: Shard
    progress: ChartProgress
    ledger: ViolationLedger
    broke: Broke

    def decode(self, config: SidecarConfig, plan: Plan, answers: dict[Fetch, Pieces]) -> Decoded:
        return decode(config, plan, answers, self)

    def compute(
        self,
        config: SidecarConfig,
        now: float,
        points: ChartPoints,
        cached: Mapping[str, CachedBaseline],
    ) -> Computed:
        return compute(config, now, points, cached, self)


def decode(
    config: SidecarConfig,
    plan: Plan,
    answers: dict[Fetch, Pieces],
    use: Stages,
) -> Decoded:
    """Stitch every fetch's decoded pieces once, then rebuild each chart's points from it."""
    samples = fetching.collect(plan, answers)
    charts = {c.name: c for c in config.charts}
    points: ChartPoints = {}
    failures: dict[str, dict[SeriesKey, FailureRun]] = {}
    errors: dict[str, QueryError] = {}
    broken: set[str] = set()
    charted = [((n, "window"), got) for n, got in samples.windows.items()]
    charted += [((n, "baseline"), got) for n, got in samples.baselines.items()]
    for (name, purpose), got in charted:
        if isinstance(got, QueryError):
            errors.setdefault(name, got)
        elif name not in broken:
            chart = charts[name]
            try:
                points[(name, purpose)], found = chart_points(
                    chart, purpose, got, config.incidents, use
                )
                if found is not None:
                    failures[name] = found
            except Exception:
                broken.add(name)
                use.broke(name)
    # A chart is evaluated only when all its fetches (window, baseline) came back.
    kept = {k: v for k, v in points.items() if k[0] not in errors and k[0] not in broken}
    runs = {k: v for k, v in failures.items() if k not in errors and k not in broken}
    return Decoded(kept, errors, samples.held, runs)


def chart_points(
    chart: ChartConfig,
    purpose: str,
    got: Sequence[list[RawSeries]],
    settings: IncidentSettings,
    use: Stages,
) -> tuple[dict[SeriesKey, Points], dict[SeriesKey, FailureRun] | None]:
    """One chart's points from its raw series (a list per selector) for ``purpose``
    ("window" or "baseline"), the shard's series only, and the failure chart's runs from
    its window: the decode stage's work, which a replay does on stored history too."""
    report = use.progress.malformed(chart.name)
    parts = use.shard.parts(got, chart)
    points = drop_small(chart, points_of(chart, parts, report))
    if purpose != "window" or chart.name != settings.failures:
        return points, None
    numerator, denominator = parts
    runs = failure_runs(
        numerator, denominator, chart.by, settings.reason_label, settings.min_failures
    )
    return points, runs


def drop_small(chart: ChartConfig, points: dict[SeriesKey, Points]) -> dict[SeriesKey, Points]:
    """Without the points of fewer observations than the chart's ``min_subgroup``."""
    if chart.min_subgroup <= 1:
        return points
    out = {}
    for key, p in points.items():
        keep = p.sizes >= chart.min_subgroup
        out[key] = Points(p.timestamps[keep], p.values[keep], p.sizes[keep], p.last_sample)
    return out


def compute(
    config: SidecarConfig,
    now: float,
    points: ChartPoints,
    cached: Mapping[str, CachedBaseline],
    use: Stages,
) -> Computed:
    """Judge every chart whose points are here (the ledger is only ever used by one cycle
    at a time)."""
    out = Computed()
    for chart in config.charts:
        if (chart.name, "window") not in points:
            continue
        try:
            fresh = points.get((chart.name, "baseline"))
            if fresh is not None:
                out.baselines[chart.name] = CachedBaseline(chart, now, fresh)
            known = cached.get(chart.name)
            baseline = fresh if fresh is not None else known.points if known else None
            judged = use.ledger.effective(chart)  # windows for its points' cadence
            live = live_series(judged, points[(chart.name, "window")], now, config.lookback)
            result, violations = use.ledger.judge(judged, live, now, baseline)
            out.views[chart.name] = ChartView(result, violations)
            use.progress.observe(result, now)
        except Exception:
            out.baselines.pop(chart.name, None)
            use.broke(chart.name)
    return out
