"""Comparing sessions: each later session against the first, per target and metric; and the
capability of one target across many sessions (the trend)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from spc_rules.session import stats
from spc_rules.session.store import MetricSpec, Session, SessionError
from spc_rules.session.summary import SeriesSummary, summarize

ALPHA = 0.05  # a p-value below this is called significant


@dataclass(frozen=True)
class Comparison:
    target: str
    metric: str
    unit: str
    before: SeriesSummary
    after: SeriesSummary
    before_session: str
    after_session: str
    median_change: stats.Estimate
    p95_change: stats.Estimate
    test: stats.Test

    @property
    def significant(self) -> bool:
        return self.test.p_value < ALPHA


def select(
    sessions: Sequence[Session], target: str | None, metric: str | None
) -> list[tuple[str, str]]:
    """The (target, metric) pairs every session holds, narrowed to ``target``/``metric``;
    one line naming the problem when there are none."""
    first, names = sessions[0], ", ".join(s.name for s in sessions)
    common_metrics = set.intersection(*(set(s.metric_names) for s in sessions))
    if not common_metrics:
        held = "; ".join(f"{s.name}: {', '.join(s.metric_names)}" for s in sessions)
        raise SessionError(f"sessions of different metrics, none common to all ({held})")
    if metric is not None and metric not in common_metrics:
        raise SessionError(
            f"unknown metric {metric} (common to {names}: {', '.join(sorted(common_metrics))})"
        )
    held_targets = set.union(*(set(s.targets) for s in sessions))
    if target is not None and target not in held_targets:
        raise SessionError(
            f"unknown target {target} (sessions hold: {', '.join(sorted(held_targets))})"
        )
    keys = [
        key
        for key in first.series
        if all(key in s.series for s in sessions)
        and (target is None or key[0] == target)
        and (metric is None or key[1] == metric)
    ]
    if not keys:
        what = f"target {target}" if target else "target and metric"
        raise SessionError(f"no {what} is held by every one of {names}")
    return keys


def compare(
    sessions: Sequence[Session], target: str | None = None, metric: str | None = None
) -> list[Comparison]:
    if len(sessions) < 2:
        raise SessionError("compare needs at least two sessions")
    keys = select(sessions, target, metric)
    reference = sessions[0]
    specs = {m: merged_spec(sessions, m) for _, m in keys}
    cache: dict[tuple[str, tuple[str, str]], SeriesSummary] = {}

    def summary(session: Session, key: tuple[str, str]) -> SeriesSummary:
        got = cache.get((session.name, key))
        if got is None:
            s = session.series[key]
            got = cache[(session.name, key)] = summarize(s, specs[s.metric])
        return got

    out = []
    for other in sessions[1:]:
        for key in keys:
            a, b = summary(reference, key), summary(other, key)
            va, vb = a.series.values, b.series.values
            out.append(
                Comparison(
                    target=key[0],
                    metric=key[1],
                    unit=a.spec.unit,
                    before=a,
                    after=b,
                    before_session=reference.name,
                    after_session=other.name,
                    median_change=stats.change(va, vb, 0.5),
                    p95_change=stats.change(va, vb, 0.95),
                    test=stats.mann_whitney(va, vb),
                )
            )
    return out


@dataclass(frozen=True)
class TrendRow:
    session: str
    start: str
    metric: str
    unit: str
    summary: SeriesSummary


def trend(
    sessions: Sequence[Session], target: str | None, metric: str | None = None
) -> list[TrendRow]:
    """One row per session and metric of one target, in the sessions' start order."""
    targets = sorted(set.union(*(set(s.targets) for s in sessions)))
    if target is None:
        if len(targets) != 1:
            raise SessionError(
                f"name one target with --target (sessions hold: {', '.join(targets)})"
            )
        target = targets[0]
    if target not in targets:
        raise SessionError(f"unknown target {target} (sessions hold: {', '.join(targets)})")
    ordered = sorted(sessions, key=lambda s: s.start or 0.0)
    specs: dict[str, MetricSpec] = {}
    rows = []
    for session in ordered:
        for (t, m), series in session.series.items():
            if t != target or (metric is not None and m != metric):
                continue
            spec = specs.get(m) or specs.setdefault(m, merged_spec(ordered, m))
            when = utc(session.start) if session.start is not None else ""
            rows.append(TrendRow(session.name, when, m, spec.unit, summarize(series, spec)))
    if not rows:
        raise SessionError(f"no session holds metric {metric} of target {target}")
    return rows


def utc(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def merged_spec(sessions: Sequence[Session], metric: str) -> MetricSpec:
    """One spec for a metric across sessions, so their capability is comparable: the first
    session's transform, and each spec limit from the first session that sets it."""
    specs = [s.metrics[metric] for s in sessions if metric in s.metrics]
    first = specs[0]
    usl = next((x.usl for x in specs if x.usl is not None), None)
    lsl = next((x.lsl for x in specs if x.lsl is not None), None)
    return MetricSpec(first.name, first.unit, first.log, usl, lsl)
