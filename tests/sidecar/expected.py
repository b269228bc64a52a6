"""What the sidecar must publish for a generated fleet, computed with the engine directly, and
a reader of the sidecar's exposition."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from spc_rules import capability_batch, cusum, ewma, fit_limits_batch, judge
from spc_rules.sidecar.publish import SidecarCollector
from tests.sidecar.data import Series

Labels = frozenset[tuple[str, str]]
CONTEXT = 14


def scrape(collector: SidecarCollector) -> dict[tuple[str, Labels], float]:
    """The collector's exposition as /metrics serves it, parsed back: (sample name, labels)
    -> value, with each series' ``by`` labels read back from ``series`` where a family
    carries only ``chart`` and ``series``."""
    return parse(collector.render().decode())


def parse(text: str) -> dict[tuple[str, Labels], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(_expanded(sample.labels).items()))] = sample.value
    return out


def _expanded(found: dict[str, str]) -> dict[str, str]:
    pairs = found.get("series", "")
    if not pairs:
        return found
    by = dict(pair.split("=", 1) for pair in pairs.split(","))
    return {**by, **found}


def labels(**items: str) -> Labels:
    """A sample's labels; for a series of the tests' charts (grouped by target) the
    ``series`` label follows from ``target``, and rule flags carry the chart's direction."""
    if "chart" in items and "target" in items:
        items.setdefault("series", f"target={items['target']}")
    if "rule" in items or "severity" in items:
        items.setdefault("direction", "up")
    return frozenset(items.items())


@dataclass(frozen=True)
class ChartSpec:
    """The settings of the chart under test, as the engine takes them."""

    evaluation: float
    baseline: float
    usl: float
    hold: float
    log: bool = True
    min_points: int = 20
    direction: str = "up"


@dataclass(frozen=True)
class Want:
    """The numbers the sidecar must publish for one series."""

    limits_ok: bool
    center: float
    sigma: float
    ucl: float
    lcl: float
    zones: dict[int, float]
    last_value: float | None
    last_size: float | None
    baseline_points: int
    window_points: int
    cpk: float
    ppk: float
    flagged: dict[str, np.ndarray]  # signal -> timestamps of the flagged points
    hold_since: float


def _padded(rows: Sequence[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    width = max((len(r[0]) for r in rows), default=0)
    out = []
    for i in range(len(rows[0])):
        arr = np.full((len(rows), width), np.nan)
        for j, r in enumerate(rows):
            arr[j, : len(r[i])] = r[i]
        out.append(arr)
    return tuple(out)


def expected(fleet: Mapping[str, Series], spec: ChartSpec, now: float) -> dict[str, Want]:
    """Per target: the numbers the sidecar must publish."""
    targets = sorted(fleet)
    start = now - spec.evaluation
    base_rows, eval_rows, judged_rows = [], [], []
    for t in targets:
        ts, v, n = fleet[t].points()
        b = (ts > start - spec.baseline) & (ts <= start)
        e = (ts > start) & (ts <= now)
        # The rules also see the 14 points just before the window (never flagged themselves).
        j = e | np.isin(np.arange(len(ts)), np.flatnonzero(ts <= start)[-CONTEXT:])
        base_rows.append((v[b], n[b]))
        eval_rows.append((v[e], n[e], ts[e]))
        judged_rows.append((v[j], n[j], ts[j], np.where(e[j], 1.0, 0.0)))
    bv, bn = _padded(base_rows)
    ev, en, _ = _padded(eval_rows)
    jv, jn, jts, inside = _padded(judged_rows)
    limits = fit_limits_batch(bv, bn, log=spec.log, min_points=spec.min_points)
    flags = judge(jv, limits, jn)
    # EWMA and CUSUM start from their zero state at the first point of the window.
    z = limits.zscores(np.where(inside == 1.0, jv, np.nan), jn)
    signals = {str(r + 1): flags[r] for r in range(8)}
    smoothed = ewma(z, 0.0, 1.0)
    signals["ewma"] = smoothed.signal
    signals["cusum"] = cusum(z, 0.0, 1.0).signal
    if spec.direction == "up":
        # Bad upwards: sided signals keep the flags above the center (rule 3: rising runs;
        # EWMA and CUSUM: their upper side); rules 4, 7 and 8 have no side.
        above = limits.zscores(jv, jn) > 0
        rising = np.diff(jv, axis=1, prepend=np.nan) > 0
        for rule in ("1", "2", "5", "6"):
            signals[rule] = signals[rule] & above
        signals["3"] = signals["3"] & rising
        signals["ewma"] = signals["ewma"] & (smoothed.statistic > 0)
        signals["cusum"] = cusum(z, 0.0, 1.0).signal_upper
    signals = {s: m & (inside == 1.0) for s, m in signals.items()}
    cap = capability_batch(ev, en, usl=spec.usl, log=spec.log, min_points=spec.min_points)
    counts = [len(r[0]) for r in eval_rows]
    # Lines are drawn at the subgroup size of each series' latest point (1 without points).
    n_line = np.array([en[i, c - 1] if c else 1.0 for i, c in enumerate(counts)])
    lines = {m: limits.line(float(m), n_line) for m in (-3, -2, -1, 0, 1, 2, 3)}
    return {
        t: Want(
            limits_ok=bool(limits.ok[i]),
            center=float(lines[0][i]),
            sigma=float(limits.sigma[i]),
            ucl=float(lines[3][i]),
            lcl=float(lines[-3][i]),
            zones={m: float(lines[m][i]) for m in (-2, -1, 1, 2)},
            last_value=float(ev[i, counts[i] - 1]) if counts[i] else None,
            last_size=float(n_line[i]) if counts[i] else None,
            baseline_points=len(base_rows[i][0]),
            window_points=counts[i],
            cpk=float(cap.cpk[i]),
            ppk=float(cap.ppk[i]),
            flagged={s: jts[i][m[i]] for s, m in signals.items()},
            hold_since=now - spec.hold,
        )
        for i, t in enumerate(targets)
    }
