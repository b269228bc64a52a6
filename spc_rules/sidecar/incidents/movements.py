"""A cycle's chart views and failure runs as ``Movement`` records: the chart series that move
(an open episode, a statistic at least ``JOIN_PRESSURE`` of its line, a failure run). The calm rest
of a shard's thousands of series is never turned into records, only counted in the
population (``engine.py``)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from spc_rules.detectors.paging import Severity
from spc_rules.sidecar.config.model import Side
from spc_rules.sidecar.families import ChartView, series_label
from spc_rules.sidecar.incidents.failures import FailureRun
from spc_rules.sidecar.incidents.identity import TargetInfo, identify
from spc_rules.sidecar.incidents.model import Movement
from spc_rules.sidecar.incidents.scope import JOIN_PRESSURE
from spc_rules.sidecar.judge.alarms import Episodes
from spc_rules.sidecar.query.points import SeriesKey


def movements(
    views: Mapping[str, ChartView],
    severity: Severity,
    info: TargetInfo,
    failures: Mapping[str, Mapping[SeriesKey, FailureRun]],
) -> Iterator[Movement]:
    """Every chart series of every view at ``severity``; the failure chart's series carry their
    failure runs (a run that fails outright is alarmed at both severities)."""
    yield from _unviewed(views, info, failures)
    for name, view in sorted(views.items()):
        result = view.result
        chart = result.chart
        found = result.alarms.get(severity)
        runs = failures.get(name, {})
        seen = set(result.keys)
        yield from _runs_alone(
            name, chart.side, {k: r for k, r in runs.items() if k not in seen}, info
        )
        for row in _moving_rows(found, runs, result.keys):
            key = result.keys[row]
            labels = dict(zip(chart.by, key, strict=True))
            series = series_label(chart.by, key)
            alarmed, since, pressure = False, math.nan, 0.0
            if found is not None:
                carry = found.carry
                alarmed = bool(carry.state.open[row])
                since = float(carry.open_since[row]) if alarmed else math.nan
                statistic, line = float(found.statistic[row]), float(found.threshold[row])
                if math.isfinite(statistic) and line > 0:
                    pressure = statistic / line
            ratio = math.nan
            if chart.proportion is None and found is not None:
                reference = float(found.reference[row])
                if reference > 0:
                    ratio = _bad_ratio(float(result.last_value[row]) / reference, chart.direction)
            run = runs.get(key)
            reasons: Mapping[str, int] = {}
            interval = lag = float(result.point_interval[row])
            if run is not None and run.failing:
                reasons = run.reasons
                since = run.since if not alarmed else min(since, run.since)
                alarmed = True
                # Settling counts the failing probes' own spacing, not the p chart's subgroup.
                interval = run.spacing
            yield Movement(
                chart=name,
                series=series,
                identity=identify(labels, series, info),
                side=chart.side,
                alarmed=alarmed,
                since=since,
                pressure=pressure,
                ratio=ratio,
                interval=interval,
                reasons=reasons,
                lag=lag,
            )


def any_moving(
    views: Mapping[str, ChartView], failures: Mapping[str, Mapping[SeriesKey, FailureRun]]
) -> bool:
    """Whether any chart series moves at either severity (else no incident can form or grow,
    and the cycle needs no context: target info, host CPU)."""
    if any(r.failing for runs in failures.values() for r in runs.values()):
        return True
    return any(
        _moving_rows(view.result.alarms.get(severity), {}, view.result.keys)
        for view in views.values()
        for severity in ("page", "ticket")
    )


def _moving_rows(
    found: Episodes | None, runs: Mapping[SeriesKey, FailureRun], keys: Sequence[SeriesKey]
) -> list[int]:
    rows: set[int] = set()
    if found is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            pressure = found.statistic / found.threshold
        rows.update(np.flatnonzero(found.carry.state.open | (pressure >= JOIN_PRESSURE)).tolist())
    if runs:
        rows.update(i for i, key in enumerate(keys) if (r := runs.get(key)) and r.failing)
    return sorted(rows)


def _unviewed(
    views: Mapping[str, ChartView],
    info: TargetInfo,
    failures: Mapping[str, Mapping[SeriesKey, FailureRun]],
) -> Iterator[Movement]:
    for name, runs in sorted(failures.items()):
        if name not in views:
            yield from _runs_alone(name, "unknown", runs, info)


def _runs_alone(
    chart: str, side: Side, runs: Mapping[SeriesKey, FailureRun], info: TargetInfo
) -> Iterator[Movement]:
    """Failing series the chart has no point for yet (a target that never answered)."""
    for _key, run in sorted(runs.items()):
        if not run.failing:
            continue
        series = ",".join(f"{k}={v}" for k, v in run.labels.items())
        yield Movement(
            chart=chart,
            series=series,
            identity=identify(run.labels, series, info),
            side=side,
            alarmed=True,
            since=run.since,
            pressure=1.0,
            ratio=math.nan,
            interval=run.spacing,
            reasons=run.reasons,
        )


def _bad_ratio(ratio: float, direction: str) -> float:
    """A move in the bad direction as a ratio above 1 (a throughput halved reads 2x)."""
    if not ratio > 0 or np.isnan(ratio):
        return math.nan
    return 1.0 / ratio if direction == "down" else ratio
