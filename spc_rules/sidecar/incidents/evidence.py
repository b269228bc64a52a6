"""An incident's evidence in one line, for its notification and the dashboards:

``endpoint api.groq.com:443: 4 of 4 targets moved, 2.5x (duration 2.5x, time_to_first_answer
2.4x); network setup normal`` — what moved, by how much (the median over the members of each
chart's newest point against its reference, in the bad direction), which failures, and
whether the charts of our side (network phases, a proxy's own time) moved.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence

from spc_rules.sidecar.incidents.model import Movement, Scope

_UNIT: dict[Scope, str] = {
    "target": "vantages",
    "model": "endpoints",
    "endpoint": "targets",
    "vantage": "endpoints",
}


def describe(scope: Scope, subject: str, members: Sequence[Movement], of: int) -> str:
    parts = [f"{scope} {subject}: {_moved(scope, members, of)}"]
    ratios = _ratios(members)
    if ratios:
        shown = ", ".join(f"{chart} {r:.1f}x" for chart, r in ratios)
        overall = statistics.median(r for _, r in ratios)
        parts[0] += f" {overall:.1f}x ({shown})"
    failures = _failures(members)
    if failures:
        parts.append(failures)
    ours = [m for m in members if m.side == "ours"]
    if ours:
        moved = sorted({m.chart for m in ours if m.alarmed})
        parts.append(f"our side moved: {', '.join(moved)}" if moved else "our side normal")
    return "; ".join(parts)


def _moved(scope: Scope, members: Sequence[Movement], of: int) -> str:
    if scope == "target":
        return "moved"
    if scope == "endpoint":
        count = len({m.identity.target for m in members})
    elif scope == "model":
        count = len({m.identity.endpoint for m in members})
    else:
        count = len({m.identity.endpoint for m in members if m.alarmed})
    return f"{count} of {max(of, count)} {_UNIT[scope]}"


def _ratios(members: Sequence[Movement]) -> list[tuple[str, float]]:
    """Per chart with a ratio, the median over its alarmed members, largest first."""
    by_chart: dict[str, list[float]] = defaultdict(list)
    for m in members:
        if m.alarmed and math.isfinite(m.ratio) and m.side != "ours":
            by_chart[m.chart].append(m.ratio)
    medians = [(c, statistics.median(rs)) for c, rs in by_chart.items()]
    return sorted(medians, key=lambda cr: (-cr[1], cr[0]))


def _failures(members: Sequence[Movement]) -> str:
    reasons: Counter[str] = Counter()
    failing = set()
    for m in members:
        if m.failing:
            reasons.update(m.reasons)
            failing.add(m.identity.probe)
    if not failing:
        return ""
    top = ", ".join(f"{r} {n}" for r, n in reasons.most_common(3))
    return f"{len(failing)} failing ({top})"
