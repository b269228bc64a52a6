"""Pieces of the sidecar's /metrics shared by its families: the labels of a chart series,
one sample per series, and the alarm episodes' families (docs/sidecar.md, "Alarms")."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from spc_rules.sidecar.judge.evaluate import ChartResult
from spc_rules.sidecar.judge.ledger import Violations
from spc_rules.sidecar.query.decode import FloatArray

PREFIX = "llmscope_spc_"


@dataclass(frozen=True)
class ChartView:
    result: ChartResult
    violations: Violations


def alarm_families(
    charts: list[ChartView], labels: Mapping[str, list[dict[str, str]]]
) -> Iterator[Metric]:
    """Alarm episodes per series and severity (docs/sidecar.md, "Alarms")."""
    families = {
        "active": GaugeMetricFamily(
            f"{PREFIX}alarm_active", "1 while an alarm episode is open at the newest point."
        ),
        "total": CounterMetricFamily(
            f"{PREFIX}alarms", "Alarm episodes opened after the sidecar's start."
        ),
        "started": GaugeMetricFamily(
            f"{PREFIX}alarm_started_timestamp_seconds",
            "Unix time of the point that opened the newest alarm episode.",
        ),
        "statistic": GaugeMetricFamily(
            f"{PREFIX}alarm_statistic",
            "The alarm detector's CUSUM at the newest point, in sigma units.",
        ),
        "threshold": GaugeMetricFamily(
            f"{PREFIX}alarm_threshold",
            "The detector's decision line h: an episode opens when the statistic passes it.",
        ),
        "reference": GaugeMetricFamily(
            f"{PREFIX}alarm_reference",
            "The level new points are compared with (original scale; geometric mean with log).",
        ),
        "accepted": CounterMetricFamily(
            f"{PREFIX}shifts_accepted",
            "Episodes open longer than accept_after, accepted as the new normal.",
        ),
        "accepted_at": GaugeMetricFamily(
            f"{PREFIX}shift_accepted_timestamp_seconds",
            "Unix time of the evaluation that accepted the newest shift as the new normal.",
        ),
    }
    for v in charts:
        rows = labels[v.result.chart.name]
        side = v.result.chart.direction
        for severity, found in v.result.alarms.items():
            extra = {"severity": severity, "direction": side}
            vi = v.violations
            active = np.where(found.carry.state.open, 1.0, 0.0)
            add(families["active"], rows, active, **extra)
            add(families["total"], rows, vi.episodes[severity], suffix="_total", **extra)
            add(families["started"], rows, vi.started[severity], **extra)
            add(families["statistic"], rows, found.statistic, **extra)
            add(families["threshold"], rows, found.threshold, **extra)
            add(families["reference"], rows, found.reference, **extra)
            add(families["accepted"], rows, vi.accepted[severity], suffix="_total", **extra)
            add(families["accepted_at"], rows, vi.accepted_at[severity], **extra)
    yield from families.values()


def chart_labels(result: ChartResult) -> list[dict[str, str]]:
    """``chart``, the ``by`` labels, and ``series``: the ``by`` pairs in one label, which
    alerts, inhibition and dashboards key on whatever labels a chart groups by."""
    by = result.chart.by
    return [
        {
            "chart": result.chart.name,
            "series": series_label(by, key),
            **dict(zip(by, key, strict=True)),
        }
        for key in result.keys
    ]


def series_label(by: tuple[str, ...], key: tuple[str, ...]) -> str:
    """``target=chat``; ``model=m,op=chat`` for several labels; "" for a chart of one series."""
    return ",".join(f"{name}={value}" for name, value in zip(by, key, strict=True))


def add(
    family: Metric,
    rows: list[dict[str, str]],
    values: FloatArray | np.ndarray,
    *,
    suffix: str = "",
    **extra: str,
) -> None:
    """One sample per series, skipping values that do not exist (NaN)."""
    name = family.name + suffix
    for row, value in zip(rows, np.asarray(values, dtype=np.float64).tolist(), strict=True):
        if not math.isnan(value):
            family.add_sample(name, {**row, **extra} if extra else row, value)
