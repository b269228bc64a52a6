"""Prometheus text exposition (format 0.0.4) of per-series families, written directly.

prometheus_client builds one object per sample and renders them one by one: at 10,000 chart
series that took seconds per scrape. Here each family is one join over the series' label
prefixes (built once per chart) and their values, so a cycle's results are rendered in a
fraction of that and then served as bytes (``publish.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

Kind = Literal["gauge", "counter"]


@dataclass(frozen=True)
class Family:
    """One family: its name (counters without ``_total``), kind and help text."""

    name: str
    kind: Kind
    help: str

    @property
    def sample(self) -> str:
        return self.name + "_total" if self.kind == "counter" else self.name

    def header(self) -> str:
        text = self.help.replace("\\", r"\\").replace("\n", r"\n")
        return f"# HELP {self.sample} {text}\n# TYPE {self.sample} {self.kind}\n"

    def metric(self) -> Metric:
        """An empty prometheus_client family of the same name and kind, for ``describe``."""
        if self.kind == "counter":
            return CounterMetricFamily(self.name, self.help)
        return GaugeMetricFamily(self.name, self.help)


def escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def labels(pairs: Iterable[tuple[str, str]]) -> str:
    """``name="value",...`` (escaped), without braces."""
    return ",".join(f'{name}="{escape(value)}"' for name, value in pairs)


def number(value: float) -> str:
    """A sample value as Prometheus parses it (Python's shortest repr for finite values)."""
    if math.isfinite(value):
        return repr(value)
    return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")


def lines(
    sample: str,
    prefixes: Sequence[str],
    values: np.ndarray,
    extra: str = "",
    keep: np.ndarray | None = None,
) -> str:
    """One line per series with a value: ``sample{prefix,extra} value``. NaN values are left
    out, and so are rows where ``keep`` is False. ``prefixes`` hold each series' labels."""
    array = np.asarray(values, dtype=np.float64)
    mask = ~np.isnan(array)
    if keep is not None:
        mask &= keep
    rows = np.flatnonzero(mask).tolist()
    if not rows:
        return ""
    picked = array[rows].tolist()
    tail = "," + extra + "} " if extra else "} "
    head = sample + "{"
    if all(math.isfinite(v) for v in picked):
        return "".join(
            [f"{head}{prefixes[r]}{tail}{v!r}\n" for r, v in zip(rows, picked, strict=True)]
        )
    return "".join(
        [f"{head}{prefixes[r]}{tail}{number(v)}\n" for r, v in zip(rows, picked, strict=True)]
    )
