"""The /metrics of serving engines, as their own source code defines it, for tests.

The families (names, types, help, labels, buckets) are in ``testkit/engine_families.py``,
copied from each engine's source.

``Exposition`` holds one process's counters and renders them as that process would: the
Python engines in prometheus_client's text format (``_total`` and ``_created`` on counters,
``le`` written by its float formatter; tests/sidecar/test_engine_fixtures.py compares the two),
TGI in metrics-exporter-prometheus' format. ``openmetrics`` writes timestamped scrapes for
``promtool tsdb create-blocks-from openmetrics``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from prometheus_client.utils import floatToGoString

from testkit.engine_families import ENGINES, RUST_STYLE, Family


@dataclass
class _Histogram:
    buckets: tuple[float, ...]
    counts: NDArray[np.float64]
    total: float = 0.0

    def observe(
        self, values: NDArray[np.float64], weights: NDArray[np.float64] | None = None
    ) -> None:
        """Observations (or, with ``weights``, SGLang's weighted bucket increments)."""
        index = np.searchsorted(np.asarray(self.buckets), values, side="left")
        w = np.ones(values.size) if weights is None else weights
        self.counts += np.bincount(index, weights=w, minlength=len(self.buckets) + 1)[
            : len(self.buckets) + 1
        ]


@dataclass
class Exposition:
    """The counters of one engine process: ``observe``/``add`` change them, ``text`` renders
    them as that engine's /metrics does."""

    engine: str
    families: Mapping[str, Family] = field(init=False)
    histograms: dict[tuple[str, tuple[str, ...]], _Histogram] = field(default_factory=dict)
    counters: dict[tuple[str, tuple[str, ...]], float] = field(default_factory=dict)
    created: float = 1_700_000_000.0

    def __post_init__(self) -> None:
        self.families = {f.name: f for f in ENGINES[self.engine]}

    def _key(self, name: str, labels: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
        family = self.families[name]
        if set(labels) != set(family.labels):
            raise ValueError(f"{name} has labels {family.labels}, got {sorted(labels)}")
        return name, tuple(str(labels[k]) for k in family.labels)

    def observe(
        self,
        name: str,
        labels: Mapping[str, str],
        values: Sequence[float] | NDArray[np.float64],
        *,
        total: float | None = None,
        weights: NDArray[np.float64] | None = None,
    ) -> None:
        """Observe values; ``total`` and ``weights`` add to _sum and the buckets separately, as
        SGLang's observe_inter_token_latency does (interval to _sum, tokens to a bucket)."""
        key = self._key(name, labels)
        family = self.families[name]
        hist = self.histograms.setdefault(
            key, _Histogram(family.buckets, np.zeros(len(family.buckets) + 1))
        )
        array = np.asarray(values, dtype=float)
        hist.observe(array, weights)
        if total is None:  # added one by one, as prometheus_client does (the same float)
            hist.total = float(np.cumsum(np.concatenate(([hist.total], array)))[-1])
        else:
            hist.total += total

    def add(self, name: str, labels: Mapping[str, str], amount: float = 1.0) -> None:
        key = self._key(name, labels)
        self.counters[key] = self.counters.get(key, 0.0) + amount

    def set(self, name: str, labels: Mapping[str, str], value: float) -> None:
        self.counters[self._key(name, labels)] = value

    def value(self, name: str, labels: Mapping[str, str], default: float = 0.0) -> float:
        return self.counters.get(self._key(name, labels), default)

    def samples(self) -> list[tuple[str, str, float]]:
        """(family, sample name with labels, value) in exposition order."""
        out: list[tuple[str, str, float]] = []
        rust = self.engine in RUST_STYLE
        for name, family in self.families.items():
            if family.kind == "histogram":
                for (n, values), hist in self.histograms.items():
                    if n != name:
                        continue
                    pairs = list(zip(family.labels, values, strict=True))
                    cumulative = np.cumsum(hist.counts)
                    bounds = [*family.buckets, math.inf]
                    for bound, count in zip(bounds, cumulative.tolist(), strict=True):
                        le = _go(bound)
                        with_le = [*pairs, ("le", le)]
                        out.append((name, f"{name}_bucket{_labels(with_le, rust)}", count))
                    out.append((name, f"{name}_count{_labels(pairs, rust)}", float(cumulative[-1])))
                    out.append((name, f"{name}_sum{_labels(pairs, rust)}", hist.total))
            elif family.kind == "counter":
                for (n, values), value in self.counters.items():
                    if n == name:
                        pairs = list(zip(family.labels, values, strict=True))
                        sample = name if rust else f"{name}_total"
                        out.append((name, f"{sample}{_labels(pairs, rust)}", value))
            else:
                for (n, values), value in self.counters.items():
                    if n == name:
                        pairs = list(zip(family.labels, values, strict=True))
                        out.append((name, f"{name}{_labels(pairs, rust)}", value))
        return out

    def text(self) -> str:
        """The body of GET /metrics (text format 0.0.4)."""
        lines: list[str] = []
        rust = self.engine in RUST_STYLE
        seen: set[str] = set()
        for family_name, sample, value in self.samples():
            family = self.families[family_name]
            if family_name not in seen:
                seen.add(family_name)
                head = family_name if rust or family.kind != "counter" else family_name + "_total"
                if family.help:
                    lines.append(f"# HELP {head} {family.help}")
                lines.append(f"# TYPE {head} {family.kind}")
            lines.append(f"{sample} {_go(value)}")
            if family.kind == "counter" and not rust:
                created = sample.replace(f"{family_name}_total", f"{family_name}_created", 1)
                lines.append(f"{created} {_go(self.created)}")
        return "\n".join(lines) + "\n"


def _go(value: float) -> str:
    """A float as prometheus_client writes it (le labels and values)."""
    return str(floatToGoString(value))  # type: ignore[no-untyped-call]


def _labels(pairs: Sequence[tuple[str, str]], rust: bool) -> str:
    """prometheus_client writes labels sorted by name; metrics-rs in their own order."""
    if not pairs:
        return ""
    inner = ",".join(f'{k}="{v}"' for k, v in (pairs if rust else sorted(pairs)))
    return "{" + inner + "}"


def openmetrics(scrapes: Mapping[str, list[tuple[float, list[tuple[str, str, float]]]]]) -> str:
    """Timestamped scrapes (per process: (time, samples)) as OpenMetrics for promtool. Every
    series is written as type unknown under its stored name, so counters keep exactly the
    name the engine exposes (with or without _total)."""
    series: dict[str, list[str]] = {}
    for rows in scrapes.values():
        for ts, samples in rows:
            for _, sample, value in samples:
                series.setdefault(sample, []).append(f"{sample} {value!r} {ts:.3f}")
    by_name: dict[str, list[str]] = {}
    for sample, lines in series.items():
        by_name.setdefault(sample.split("{", 1)[0], []).extend(lines)
    out: list[str] = []
    for name, lines in by_name.items():
        out.append(f"# TYPE {name} unknown")
        out.extend(lines)
    out.append("# EOF")
    return "\n".join(out) + "\n"
