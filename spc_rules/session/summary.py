"""What a session says about each series: percentiles, limits, rule flags, capability.

The limits are a phase I study of the session itself (docs/spc.md): fitted on its points with
the engine's defaults (moving-range sigma, the metric's transform, refits dropping points
beyond 3 sigma), then every point judged against them, in time order, by the eight rules.
The session is **in control** when no point is flagged by rule 1 (beyond 3 sigma) or rule 2
(9 in a row on one side: a shift); the other rules are counted and drawn, not judged, since
over a few hundred points all eight together flag a stable process more often than not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from servicekit.sessionformat import FORMAT_VERSION
from spc_rules import RULE_COUNT, Capability, Limits, capability, fit_limits, judge
from spc_rules.session import stats
from spc_rules.session.store import MetricSpec, Series, Session

VERDICT_RULES = (1, 2)
MIN_POINTS = 20  # the engine's default: fewer points get no limits


@dataclass(frozen=True)
class SeriesSummary:
    series: Series
    spec: MetricSpec
    percentiles: dict[str, stats.Estimate]
    limits: Limits | None
    flags: NDArray[np.bool_]  # (RULE_COUNT, points)
    capability: Capability | None

    @property
    def in_control(self) -> bool | None:
        """None without limits (too few points)."""
        if self.limits is None:
            return None
        return not bool(self.flags[[r - 1 for r in VERDICT_RULES]].any())

    def rule_counts(self) -> dict[str, int]:
        return {str(r + 1): int(self.flags[r].sum()) for r in range(RULE_COUNT)}


def summarize(series: Series, spec: MetricSpec) -> SeriesSummary:
    values, sizes = series.values, series.sizes
    limits = fit_limits(values, sizes, log=spec.log, min_points=MIN_POINTS)
    flags = (
        judge(values, limits, sizes)
        if limits is not None
        else np.zeros((RULE_COUNT, values.size), dtype=np.bool_)
    )
    cap = None
    if spec.usl is not None or spec.lsl is not None:
        cap = capability(
            values, sizes, usl=spec.usl, lsl=spec.lsl, log=spec.log, min_points=MIN_POINTS
        )
    return SeriesSummary(series, spec, stats.percentiles(values), limits, flags, cap)


def summarize_session(session: Session) -> dict[tuple[str, str], SeriesSummary]:
    return {key: summarize(s, session.metrics[s.metric]) for key, s in session.series.items()}


def document(
    session: Session,
    summaries: dict[tuple[str, str], SeriesSummary],
    energy: Mapping[str, dict[str, object]] | None = None,
) -> dict[str, object]:
    """summary.json; ``energy`` holds each target's energy entry (bench sessions)."""
    targets: dict[str, dict[str, object]] = {}
    for (target, metric), s in summaries.items():
        entry = targets.setdefault(target, _target_entry(session, target))
        metrics = entry["metrics"]
        assert isinstance(metrics, dict)
        metrics[metric] = series_entry(s)
    for target, entry in (energy or {}).items():
        targets.setdefault(target, _target_entry(session, target))["energy"] = entry
    return {
        "format": FORMAT_VERSION,
        "session": session.name,
        "method": {
            "percentile_intervals": f"percentile bootstrap, {stats.RESAMPLES} resamples, "
            f"{stats.CONFIDENCE:.0%}",
            "limits": "phase I fit on the session's own points (docs/spc.md)",
            "in_control": f"no point flagged by rules {', '.join(map(str, VERDICT_RULES))}",
        },
        "targets": targets,
    }


def _target_entry(session: Session, target: str) -> dict[str, object]:
    entry: dict[str, object] = {"metrics": {}}
    if session.probes is not None:
        entry["probes"] = session.probes.get(target, 0)
        entry["errors"] = dict((session.errors or {}).get(target, {}))
    return entry


def series_entry(s: SeriesSummary) -> dict[str, object]:
    lim = s.limits
    cap = s.capability
    return {
        "unit": s.spec.unit,
        "transform": "log" if s.spec.log else "none",
        "points": int(s.series.values.size),
        "observations": int(s.series.sizes.sum()),
        "mean": float(np.average(s.series.values, weights=s.series.sizes)),
        "percentiles": {k: vars(v) for k, v in s.percentiles.items()},
        "limits": None
        if lim is None
        else {"center": lim.center_line, "lcl": lim.lcl, "ucl": lim.ucl, "sigma": lim.sigma},
        "rules": s.rule_counts(),
        "flagged_points": int(s.flags.any(axis=0).sum()),
        "in_control": s.in_control,
        "spec": {"usl": s.spec.usl, "lsl": s.spec.lsl},
        "capability": None
        if cap is None
        else {"cp": cap.cp, "cpk": cap.cpk, "pp": cap.pp, "ppk": cap.ppk},
    }
