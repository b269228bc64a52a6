"""Chart series split across sidecar replicas: ``--shard i/N`` keeps the series whose stable
hash is ``i`` modulo ``N``.

A chart series is identified by its chart's ``by`` labels (``target="gpt-4o"``), and the hash
is of those label names and values only, not of the chart, so every chart of one target lands
on the same replica: its dashboards and alerts come from one sidecar. SHA-256 is stable across
processes, machines and Python versions (``hash()`` is salted per process). Without a label
every replica still reads the whole selector from Prometheus and keeps only its own series
before points are rebuilt, so the points, the engine and the published series divide by N;
the query, the raw-sample cache and the decoding do not.

With ``--shard.label``, the backend already numbered the series at ingestion (a ``hashmod``
relabeling, docs/sidecar.md "Scaling"): each replica adds ``label="i"`` to every selector and
reads only its own series, so everything divides by N. The backend's hash is not this one
(Prometheus hashes with MD5, vmagent with xxhash); with a label the replica owns whatever
the backend numbered ``i``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from spc_rules.sidecar.config.loader import SidecarConfig
from spc_rules.sidecar.config.model import ChartConfig, CounterSelector
from spc_rules.sidecar.config.selector import Matcher
from spc_rules.sidecar.query.decode import RawSeries


@dataclass(frozen=True)
class Shard:
    index: int = 0  # 0 <= index < count, as Prometheus' hashmod numbers its shards
    count: int = 1
    label: str = ""  # a label the backend numbers the shards with; "": hash here

    def __str__(self) -> str:
        where = f" by label {self.label}" if self.label else ""
        return f"{self.index}/{self.count}{where}"

    @property
    def filters(self) -> bool:
        """Whether this replica keeps a share of what it reads (no label, several shards)."""
        return self.count > 1 and not self.label

    def owns(self, by: Sequence[str], values: Sequence[str]) -> bool:
        return not self.filters or series_hash(by, values) % self.count == self.index

    def narrow(self, config: SidecarConfig) -> SidecarConfig:
        """``config`` reading only this shard's series when the backend labels them."""
        if not self.label or self.count == 1:
            return config
        mine = Matcher(self.label, "=", str(self.index))
        charts = tuple(_narrowed(chart, mine) for chart in config.charts)
        return dataclasses.replace(config, charts=charts)

    def select(self, series: Iterable[RawSeries], by: Sequence[str]) -> Iterable[RawSeries]:
        """The raw series of this shard's chart series (a label a series lacks reads "",
        as in ``points.chart_points``)."""
        if not self.filters:
            return series
        return _owned(self, series, by)

    def parts(
        self, parts: Sequence[list[RawSeries]], chart: ChartConfig
    ) -> Sequence[list[RawSeries]]:
        """Each fetch's raw series for ``chart`` (a histogram's, or a proportion's numerator
        and denominator), kept to this shard's chart series."""
        if not self.filters:
            return parts
        return [list(self.select(part, chart.by)) for part in parts]


WHOLE = Shard()
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def series_hash(by: Sequence[str], values: Sequence[str]) -> int:
    text = "\0".join(f"{name}={value}" for name, value in zip(by, values, strict=True))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _narrowed(chart: ChartConfig, mine: Matcher) -> ChartConfig:
    def counter(c: CounterSelector) -> CounterSelector:
        return dataclasses.replace(c, matchers=(*c.matchers, mine))

    p = chart.proportion
    if p is not None:
        p = dataclasses.replace(
            p, numerator=counter(p.numerator), denominator=counter(p.denominator)
        )
    return dataclasses.replace(chart, matchers=(*chart.matchers, mine), proportion=p)


def label_name(text: str) -> str:
    """``text`` when it is a Prometheus label name; ValueError fit for a flag error."""
    if not LABEL_NAME.fullmatch(text):
        raise ValueError(f'"{text}" is not a label name: letters, digits and _, not first a digit')
    return text


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
