"""Energy per probe and per 1,000 output tokens, per target and session, and its change.

Estimates are medians of the successful probes with a measured energy, with the same
percentile-bootstrap intervals as latency (``stats``); the change between two sessions is
the change of the median per-probe Wh per 1,000 output tokens with its interval, tested
with Mann-Whitney U, exactly as a latency metric. Grams of CO2e need a grid carbon intensity
(gCO2e/kWh), which no session assumes: ``--carbon-intensity`` or the bench's own setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spc_rules.session import stats
from spc_rules.session.compare import ALPHA
from spc_rules.session.store import ProbeEnergy, Session
from spc_rules.sidecar.query.decode import FloatArray

J_PER_WH = 3600.0
FORMAT_1 = "not recorded: the session predates energy measurement (session format 1)"
CAPTURE = "not measured: a capture rebuilds points from Prometheus, it has no probes to charge"


@dataclass(frozen=True)
class EnergySummary:
    session: str
    target: str
    probes: int  # successful probes with an energy reading
    joules_per_probe: stats.Estimate  # median
    wh_per_1k: stats.Estimate  # median of the probes' Wh per 1,000 output tokens
    total_wh_per_1k: float  # all their energy over all their output tokens
    g_per_1k: stats.Estimate | None  # with a carbon intensity only
    values: FloatArray  # the probes' Wh per 1,000 output tokens
    durations: FloatArray  # and their durations, in the same order


@dataclass(frozen=True)
class EnergyChange:
    target: str
    before: EnergySummary
    after: EnergySummary
    change: stats.Estimate  # of the median Wh per 1,000 output tokens
    test: stats.Test

    @property
    def significant(self) -> bool:
        return self.test.p_value < ALPHA


def wh_per_1k(e: ProbeEnergy) -> tuple[FloatArray, FloatArray]:
    """Each probe's Wh per 1,000 output tokens, and its duration (probes with tokens only)."""
    keep = np.isfinite(e.output_tokens) & (e.output_tokens > 0)
    return e.joules[keep] / J_PER_WH / e.output_tokens[keep] * 1000, e.durations[keep]


def carbon_intensity(sessions: Sequence[Session], given: float | None) -> float | None:
    """The flag's value, else the first session's that set one; None: no grams at all."""
    if given is not None:
        return given
    for s in sessions:
        value = _energy_meta(s).get("carbon_intensity_g_per_kwh")
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return None


def _energy_meta(s: Session) -> dict[str, object]:
    meta = s.metadata.get("energy")
    return meta if isinstance(meta, dict) else {}


def not_measured(s: Session, target: str) -> str | None:
    """Why the session has no energy for ``target``: one line, or None when it has some."""
    if s.energy is not None and target in s.energy and s.energy[target].joules.size:
        return None
    if s.metadata.get("kind") == "capture":
        return CAPTURE
    meta = _energy_meta(s)
    if not meta:
        return FORMAT_1
    targets = meta.get("targets")
    entry = targets.get(target) if isinstance(targets, dict) else None
    if isinstance(entry, dict) and not entry.get("sources"):
        return f"not measured: {entry.get('not_measured') or 'no energy source'}"
    return "not measured: no successful probe has an energy reading"


def summarize(s: Session, target: str, intensity: float | None) -> EnergySummary | None:
    if not_measured(s, target) is not None or s.energy is None:
        return None
    e = s.energy[target]
    values, durations = wh_per_1k(e)
    tokens = e.output_tokens[np.isfinite(e.output_tokens)]
    total = float(e.joules.sum() / J_PER_WH / tokens.sum() * 1000) if tokens.sum() > 0 else np.nan
    per_1k = stats.percentiles(values, (50,))["p50"]
    grams = None
    if intensity is not None:
        grams = stats.percentiles(values * intensity / 1000, (50,))["p50"]
    return EnergySummary(
        session=s.name,
        target=target,
        probes=int(e.joules.size),
        joules_per_probe=stats.percentiles(e.joules, (50,))["p50"],
        wh_per_1k=per_1k,
        total_wh_per_1k=total,
        g_per_1k=grams,
        values=values,
        durations=durations,
    )


def targets_of(sessions: Sequence[Session]) -> list[str]:
    """Every target of the sessions: those with points, and those whose probes all failed."""
    return sorted({t for s in sessions for t in [*(s.probes or {}), *s.targets]})


def compare(summaries: Sequence[dict[str, EnergySummary | None]]) -> list[EnergyChange]:
    """Each later session against the first, per target both measured (with 2+ values)."""
    out = []
    first = summaries[0]
    for later in summaries[1:]:
        for target, a in first.items():
            b = later.get(target)
            if a is None or b is None or a.values.size < 2 or b.values.size < 2:
                continue
            out.append(
                EnergyChange(
                    target,
                    a,
                    b,
                    stats.change(a.values, b.values, 0.5),
                    stats.mann_whitney(a.values, b.values),
                )
            )
    return out


def document(summary: EnergySummary | None, why: str | None) -> dict[str, object]:
    """The ``energy`` entry of a target in summary.json."""
    if summary is None:
        return {"measured": False, "why": why}
    return {
        "measured": True,
        "probes": summary.probes,
        "joules_per_probe_median": vars(summary.joules_per_probe),
        "wh_per_1000_output_tokens_median": vars(summary.wh_per_1k),
        "wh_per_1000_output_tokens_total": summary.total_wh_per_1k,
        "g_co2e_per_1000_output_tokens_median": None
        if summary.g_per_1k is None
        else vars(summary.g_per_1k),
    }
