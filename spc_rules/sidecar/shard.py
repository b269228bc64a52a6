"""Chart series split across sidecar replicas: ``--shard i/N`` keeps the series whose stable
hash is ``i`` modulo ``N``.

A chart series is identified by its chart's ``by`` labels (``target="gpt-4o"``), and the hash
is of those label names and values only, not of the chart, so every chart of one target lands
on the same replica: its dashboards and alerts come from one sidecar. SHA-256 is stable across
processes, machines and Python versions (``hash()`` is salted per process). Every replica
still reads the whole selector from Prometheus and keeps only its own series before points
are rebuilt, so the points, the engine and the published series divide by N; the raw-sample
cache does not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.query.decode import RawSeries


@dataclass(frozen=True)
class Shard:
    index: int = 0  # 0 <= index < count, as Prometheus' hashmod numbers its shards
    count: int = 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, by: Sequence[str], values: Sequence[str]) -> bool:
        return self.count == 1 or series_hash(by, values) % self.count == self.index

    def select(self, series: Iterable[RawSeries], by: Sequence[str]) -> Iterable[RawSeries]:
        """The raw series of this shard's chart series (a label a series lacks reads "",
        as in ``points.chart_points``)."""
        if self.count == 1:
            return series
        return _owned(self, series, by)

    def parts(
        self, parts: Sequence[list[RawSeries]], chart: ChartConfig
    ) -> Sequence[list[RawSeries]]:
        """Each fetch's raw series for ``chart`` (a histogram's, or a proportion's numerator
        and denominator), kept to this shard's chart series."""
        if self.count == 1:
            return parts
        return [list(self.select(part, chart.by)) for part in parts]


WHOLE = Shard()


def series_hash(by: Sequence[str], values: Sequence[str]) -> int:
    text = "\0".join(f"{name}={value}" for name, value in zip(by, values, strict=True))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def parse_shard(text: str) -> Shard:
    """``"1/3"`` -> Shard(1, 3); ValueError with a message fit for a flag error."""
    index, sep, count = text.partition("/")
    try:
        shard = Shard(int(index), int(count)) if sep else None
    except ValueError:
        shard = None
    if shard is None or shard.count < 1 or not 0 <= shard.index < shard.count:
        raise ValueError(f'"{text}" is not a shard: use i/N with 0 <= i < N, e.g. 0/2 and 1/2')
    return shard


def _owned(shard: Shard, series: Iterable[RawSeries], by: Sequence[str]) -> Iterator[RawSeries]:
    for s in series:
        if shard.owns(by, [s.labels.get(label, "") for label in by]):
            yield s
