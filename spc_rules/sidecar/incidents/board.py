"""Incidents across cycles: settle, page, grow in place, resolve once.

An incident begins when a group with an alarmed member first appears. It **settles** for
``settle_points`` of its members' point interval, at most ``settle_max`` seconds (the other
probes of one cause cross their lines within a few points of each other; the scope is decided
again every cycle meanwhile), then it is **open**: published, so its alert pages. While open
it keeps its identity (labels ``incident``, ``scope``, ``subject``): groups that overlap it,
even wider ones, join it and update its members and evidence in place, without a second
page. It **resolves** once, at
the first cycle after none of its probes has been alarmed for two of its longest point
interval (a p chart's subgroup: its late points of the same failures join the incident
instead of paging again; at most 15 minutes). Resolved incidents are kept for
``keep_resolved`` seconds for dashboards and replays.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from spc_rules.detectors.paging import Severity
from spc_rules.sidecar.incidents.model import Scope
from spc_rules.sidecar.incidents.scope import Group, Probe

SETTLE_POINTS = 2
RESOLVE_POINTS = 2.0
RESOLVE_MAX = 900.0
SETTLE_MAX = 60.0
KEEP_RESOLVED = 3600.0


@dataclass
class Incident:
    severity: Severity
    scope: Scope
    subject: str
    started: float  # the earliest alarmed point of its members
    seen: float  # evaluation time at which it first appeared
    opened: float = math.nan  # evaluation time at which it was published (paged); NaN: settling
    resolved: float = math.nan
    probes: set[Probe] = field(default_factory=set)
    members: set[tuple[str, str]] = field(default_factory=set)  # (chart, series), ever
    evidence: str = ""
    interval: float = math.nan  # members' median point interval
    longest: float = 0.0  # the longest point interval among its members (a p chart's subgroup)
    last_alarmed: float = math.nan  # the newest cycle with an alarmed member
    shown: int = 0  # probes of the group whose evidence it shows
    strength: float = 0.0  # and how far that group had moved (``_strength``)

    @property
    def key(self) -> str:
        """The ``incident`` label: stable for the incident's life."""
        return f"{self.scope}:{self.subject}"

    @property
    def is_open(self) -> bool:
        return not math.isnan(self.opened) and math.isnan(self.resolved)

    def take(self, group: Group) -> None:
        self.probes |= group.probes
        self.members |= {(m.chart, m.series) for m in group.members}
        # The evidence of the widest picture so far, at its strongest: a member still moving
        # after the others recovered must not narrow an endpoint's evidence down to its own,
        # and a series that pages and then eases back must not read "1.0x" at resolution.
        wide, strength = len(group.probes), _strength(group)
        if wide > self.shown or (wide == self.shown and strength >= self.strength):
            self.evidence, self.shown, self.strength = group.evidence, wide, strength
        if not math.isnan(group.started):
            self.started = min(self.started, group.started)
        intervals = [m.interval for m in group.members if m.interval > 0]
        if intervals:
            self.interval = statistics.median(intervals)
        lags = [m.lag if m.lag > 0 else m.interval for m in group.members]
        lags = [x for x in lags if x > 0]
        if lags:
            self.longest = max(self.longest, *lags)


def _strength(group: Group) -> float:
    """How far a group moved: the median bad-direction ratio of its alarmed members (0 when
    none has one: failures, p charts), as its evidence shows it."""
    ratios = [m.ratio for m in group.members if m.alarmed and math.isfinite(m.ratio)]
    return statistics.median(ratios) if ratios else 0.0


class IncidentBoard:
    """One severity's incidents."""

    def __init__(
        self,
        severity: Severity,
        *,
        settle_points: float = SETTLE_POINTS,
        settle_max: float = SETTLE_MAX,
        keep_resolved: float = KEEP_RESOLVED,
    ) -> None:
        self.severity = severity
        self.settle_points = settle_points
        self.settle_max = settle_max
        self.keep_resolved = keep_resolved
        self.incidents: list[Incident] = []  # settling, open, and recently resolved
        self.opened: Counter[str] = Counter()  # published incidents by scope, ever

    def update(self, now: float, groups: Sequence[Group]) -> None:
        live = [i for i in self.incidents if math.isnan(i.resolved)]
        claimed: set[int] = set()
        for group in groups:
            mine = [i for i in live if i.probes & group.probes or i.key == _key(group)]
            if mine:
                # The oldest published incident keeps the cause; a settling one may still
                # change its scope.
                keeper = min(mine, key=lambda i: (math.isnan(i.opened), i.seen))
                if math.isnan(keeper.opened):
                    keeper.scope, keeper.subject = group.scope, group.subject
                keeper.take(group)
                keeper.last_alarmed = now
                claimed.add(id(keeper))
                for other in mine:
                    if other is not keeper and id(other) not in claimed:
                        keeper.probes |= other.probes
                        keeper.members |= other.members
                        keeper.started = min(keeper.started, other.started)
                        self._end(other, now)
                        claimed.add(id(other))
            else:
                fresh = Incident(self.severity, group.scope, group.subject, group.started, now)
                fresh.take(group)
                fresh.last_alarmed = now
                live.append(fresh)
                self.incidents.append(fresh)
                claimed.add(id(fresh))
        for incident in live:
            if id(incident) not in claimed:
                if math.isnan(incident.opened) or self._calm(incident, now):
                    self._end(incident, now)
            elif math.isnan(incident.opened) and self._settled(incident, now):
                incident.opened = now
                self.opened[incident.scope] += 1
        self.incidents = [
            i
            for i in self.incidents
            if (
                not math.isnan(i.opened)
                and (math.isnan(i.resolved) or now - i.resolved <= self.keep_resolved)
            )
            or (math.isnan(i.opened) and math.isnan(i.resolved))
        ]

    def _settled(self, incident: Incident, now: float) -> bool:
        """Settling waits ``settle_points`` of the members' interval from the cycle that first
        saw the incident, at most ``settle_max`` (sparse cadences probe a round together)."""
        interval = incident.interval if incident.interval > 0 else 0.0
        return now - incident.seen >= min(self.settle_points * interval, self.settle_max)

    def _calm(self, incident: Incident, now: float) -> bool:
        """No member alarmed for ``RESOLVE_POINTS`` of its longest point interval (at most
        ``RESOLVE_MAX``): a p chart's late subgroup of the same failures joins it instead of
        paging again."""
        return now >= incident.last_alarmed + _hold(incident)

    def due(self, now: float) -> float:
        """The earliest time after ``now`` at which this board changes with no new point: a
        settling incident, or an open one still alarmed (its calm hold counts from the last
        cycle that saw it alarmed), every cycle; a calm open one once its hold has passed."""
        due = math.inf
        for i in self.incidents:
            if not math.isnan(i.resolved):
                continue
            if math.isnan(i.opened) or i.last_alarmed >= now:
                return now
            due = min(due, i.last_alarmed + _hold(i))
        return due

    def _end(self, incident: Incident, now: float) -> None:
        """A settling incident that ends was never paged: it leaves no trace."""
        incident.resolved = now

    def open(self) -> list[Incident]:
        return [i for i in self.incidents if i.is_open]

    def published(self) -> list[Incident]:
        """Open, and resolved within ``keep_resolved``."""
        return [i for i in self.incidents if not math.isnan(i.opened)]


def _hold(incident: Incident) -> float:
    return min(RESOLVE_POINTS * incident.longest, RESOLVE_MAX)


def _key(group: Group) -> str:
    return f"{group.scope}:{group.subject}"


def covered(incidents: Iterable[Incident], now: float, after: float) -> set[Probe]:
    """Probes of incidents that are open, settling, or resolved less than ``after`` ago."""
    return {
        p for i in incidents if math.isnan(i.resolved) or now - i.resolved < after for p in i.probes
    }
