"""Building client_python metric families from per-target state: one function per type.

Each takes the targets in exposition order and a function giving, for one target, the label
values after ``target`` and the value (or histogram) of each of its series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from exporter.metrics.series import Histo, TargetSeries

Labels = tuple[str, ...]
Series = Callable[[TargetSeries], Iterable[tuple[Labels, float]]]
Histos = Callable[[TargetSeries], Iterable[tuple[Labels, Histo]]]


def present(value: float | None) -> list[tuple[Labels, float]]:
    """No series while the value is unknown, one without extra labels once it is."""
    return [] if value is None else [((), value)]


def one(h: Histo | None) -> list[tuple[Labels, Histo]]:
    return [] if h is None else [((), h)]


def keyed(values: Mapping[str, float]) -> list[tuple[Labels, float]]:
    return [((key,), value) for key, value in values.items()]


def keyed_histos(histos: Mapping[str, Histo]) -> list[tuple[Labels, Histo]]:
    return [((key,), h) for key, h in histos.items()]


def gauge(
    name: str, doc: str, labels: list[str], targets: list[TargetSeries], series: Series
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    _fill(family, targets, series)
    return family


def counter(
    name: str, doc: str, labels: list[str], targets: list[TargetSeries], series: Series
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    _fill(family, targets, series)
    return family


def _fill(
    family: GaugeMetricFamily | CounterMetricFamily, targets: list[TargetSeries], series: Series
) -> None:
    for s in targets:
        for labels, value in series(s):
            family.add_metric([s.genai[0], *labels], value)


def histogram(
    name: str,
    doc: str,
    labels: list[str],
    targets: list[TargetSeries],
    series: Histos,
    *,
    genai: bool = False,
) -> HistogramMetricFamily:
    """``genai``: the family's first labels are the four GenAI request labels, else ``target``."""
    return histogram_family(
        name,
        doc,
        labels,
        (
            ((*(s.genai if genai else s.genai[:1]), *rest), h)
            for s in targets
            for rest, h in series(s)
        ),
    )


def histogram_family(
    name: str, doc: str, labels: list[str], rows: Iterable[tuple[Labels, Histo]]
) -> HistogramMetricFamily:
    """A histogram family with one series per (label values, histogram) row."""
    family = HistogramMetricFamily(name, doc, labels=labels)
    for values, h in rows:
        cumulative, buckets = 0, []
        for bound, count in zip(h.bounds, h.counts, strict=True):
            cumulative += count
            buckets.append((_le(bound), float(cumulative)))
        buckets.append(("+Inf", float(h.count)))
        family.add_metric(list(values), buckets, h.sum)
    return family


def _le(bound: float) -> str:
    """The ``le`` label as client_python's own histograms write it."""
    text: str = floatToGoString(bound)  # type: ignore[no-untyped-call]
    return text
