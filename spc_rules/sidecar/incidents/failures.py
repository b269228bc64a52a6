"""Probes that fail outright: the trailing run of failed probes of each chart series.

The failure chart is a p chart whose numerator counts failed probes and carries the failure
reason as a label (the exporter's ``error_type``). Its pooled subgroups see a rising error
share; a target that stops answering must page within a few probes, so the same raw counters
are read here scrape by scrape: a series is failing while its newest ``min_failures`` or more
probes all failed, since the scrape where that run began. One success ends the run.
Stateless: every cycle reads the whole window again, so the live sidecar and a replay agree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from spc_rules.sidecar.query.counters import increments
from spc_rules.sidecar.query.decode import RawSeries
from spc_rules.sidecar.query.points import SeriesKey


@dataclass(frozen=True)
class FailureRun:
    labels: Mapping[str, str]  # the chart's ``by`` labels
    failed: int  # probes in the trailing run of failures
    since: float  # timestamp of the scrape that brought the run's first failure (NaN: none)
    reasons: Mapping[str, int] = field(default_factory=dict)  # the run's failures by reason
    min_failures: int = 2
    spacing: float = float("nan")  # median seconds between the series' scrapes with probes

    @property
    def failing(self) -> bool:
        return self.failed >= self.min_failures


def failure_runs(
    numerator: Sequence[RawSeries],
    denominator: Sequence[RawSeries],
    by: Sequence[str],
    reason_label: str,
    min_failures: int,
) -> dict[SeriesKey, FailureRun]:
    """Per chart series, the trailing run of scrapes in which every new probe failed."""
    trials: dict[SeriesKey, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    events: dict[SeriesKey, dict[float, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for s in denominator:
        key = tuple(s.labels.get(label, "") for label in by)
        ts, delta = increments(s.timestamps, s.values)
        for t, d in zip(ts.tolist(), delta.tolist(), strict=True):
            trials[key][t] += d
    for s in numerator:
        key = tuple(s.labels.get(label, "") for label in by)
        reason = s.labels.get(reason_label, "") or "unknown"
        ts, delta = increments(s.timestamps, s.values)
        for t, d in zip(ts.tolist(), delta.tolist(), strict=True):
            if d > 0:
                events[key][t][reason] += round(d)
    out: dict[SeriesKey, FailureRun] = {}
    for key, per_scrape in trials.items():
        labels = dict(zip(by, key, strict=True))
        failed, since, reasons = 0, float("nan"), Counter[str]()
        stamps = sorted(t for t, n in per_scrape.items() if n > 0)
        spacing = float(np.median(np.diff(stamps))) if len(stamps) > 1 else float("nan")
        for t in reversed(stamps):
            got = events[key].get(t, Counter())
            if sum(got.values()) < per_scrape[t]:  # a probe of this scrape succeeded
                break
            failed += round(per_scrape[t])
            since = t
            reasons.update(got)
        out[key] = FailureRun(labels, failed, since, dict(reasons), min_failures, spacing)
    return out
