"""A CSV's probes as the raw counters the exporter would have stored, one scrape per row.

Per metric, label set and failure reason, cumulative ``<metric>_count`` and (for successful
probes) ``<metric>_sum`` samples, with the reason in the failure label (``error_type``), as
the exporter's histograms carry it. Each counter is scraped at 0 one millisecond before its
first row, so the first probe is an increment too. A failed probe counts as a trial of the
failure chart and is never a latency observation: its label set has no ``_sum``, so a
histogram chart skips it with or without an ``error_type=""`` selector (``points.rebuild``
needs both). Rows of one label set at the same millisecond are one scrape (a subgroup).
The exporter's ``llmscope_target_info`` is rebuilt from the label columns: one series per
label set, sampled at its rows, so incidents know each target's endpoint and model.
"""

from __future__ import annotations

import numpy as np

from spc_rules.backtest.csvinput import ProbeRows, Probes
from spc_rules.sidecar.incidents.identity import INFO_METRIC
from spc_rules.sidecar.query.decode import FloatArray, RawSeries


def stored_series(probes: Probes, reason_label: str) -> list[RawSeries]:
    """Every counter and info series of ``probes``, timestamps in Unix seconds (whole ms)."""
    out: list[RawSeries] = []
    for group in probes.groups:
        out.extend(_counters(group, reason_label))
    out.extend(_info(probes))
    return out


def _seconds(stamps_ms: np.ndarray) -> FloatArray:
    ts = stamps_ms.astype(np.float64) / 1000.0
    ts.setflags(write=False)
    return ts


def _counters(group: ProbeRows, reason_label: str) -> list[RawSeries]:
    stamps = np.asarray(group.stamps_ms, dtype=np.int64)
    values = np.asarray(group.values, dtype=np.float64)
    order = np.argsort(stamps, kind="stable")
    stamps, values = stamps[order], values[order]
    scrapes, first, size = np.unique(stamps, return_index=True, return_counts=True)
    ts = _seconds(np.concatenate(([scrapes[0] - 1], scrapes)))
    count = np.concatenate(([0.0], np.cumsum(size, dtype=np.float64)))
    labels = dict(group.labels)
    if group.error:
        labels[reason_label] = group.error
    out = [RawSeries({"__name__": f"{group.metric}_count", **labels}, ts, count)]
    if not group.error:
        total = np.concatenate(([0.0], np.cumsum(np.add.reduceat(values, first))))
        out.append(RawSeries({"__name__": f"{group.metric}_sum", **labels}, ts, total))
    return out


def _info(probes: Probes) -> list[RawSeries]:
    stamps: dict[tuple[tuple[str, str], ...], list[np.ndarray]] = {}
    for group in probes.groups:
        stamps.setdefault(group.labels, []).append(np.asarray(group.stamps_ms, dtype=np.int64))
    out = []
    for labels, parts in sorted(stamps.items()):
        ts = _seconds(np.unique(np.concatenate(parts)))
        out.append(RawSeries({"__name__": INFO_METRIC, **dict(labels)}, ts, np.ones(ts.size)))
    return out
