"""The scope decision: which probes moved together, and whose side that points to.

A probe is a target seen from one vantage. It **moves** when one of its chart series has an
open episode (it is *alarmed*) or a detector statistic at least ``JOIN_PRESSURE`` of the way to
its decision line with its newest point ``JOIN_RATIO`` from the reference (it *leans*: not yet
an alarm, but moving with the others). Groups, widest
first, each taking the probes it covers (docs/incidents.md has the table and the reasons):

- ``vantage`` V: alarmed probes of V are at least ``SHARE`` of its probes, span at least two
  endpoints and ``SHARE`` of the endpoints V probes, and more than one model (one model on
  several endpoints is the model's); or failures for network reasons (dns, connect, tls) of
  two or more targets; or its host's CPU is saturated (``CPU_SATURATED``) while its alarmed
  probes span two or more endpoints; or the alarmed series are all of charts on our side
  (``side: ours``: a proxy's own time);
- ``endpoint`` E: at least two targets of E move, and at least ``SHARE`` of its targets;
- ``model`` M: one model moves on at least two endpoints;
- ``target``: whatever alarmed probe is left, one group per target (all its vantages).

A group needs at least one alarmed member: leaning probes only widen a scope, never page.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from spc_rules.sidecar.incidents.evidence import describe
from spc_rules.sidecar.incidents.model import (
    IDENTITY_ORDER,
    NETWORK_REASONS,
    Identity,
    Movement,
    Scope,
)

JOIN_PRESSURE = 0.5  # a statistic half way to its line: moving with the others ...
JOIN_RATIO = 1.3  # ... when its newest point is at least this far from the reference
CPU_SATURATED = 0.9  # a probing host this busy slows its own measurements
SHARE = 0.5  # of an endpoint's targets (of a vantage's endpoints) that must move

Probe = tuple[str, str]  # (target, vantage)


@dataclass(frozen=True)
class Group:
    scope: Scope
    subject: str
    members: tuple[Movement, ...]  # the moving series of the covered probes
    evidence: str

    @property
    def probes(self) -> frozenset[Probe]:
        return frozenset(m.identity.probe for m in self.members)

    @property
    def started(self) -> float:
        """The earliest alarmed point among the members."""
        return min((m.since for m in self.members if m.alarmed), default=math.nan)


def decide(
    movements: Iterable[Movement],
    population: Iterable[Identity],
    host_cpu: Mapping[str, float] | None = None,
) -> list[Group]:
    """Groups of the probes that move now, widest scope first. ``host_cpu``: each vantage's
    host CPU share, where known."""
    known = sorted(set(population), key=IDENTITY_ORDER)
    moving: dict[Probe, list[Movement]] = defaultdict(list)
    for m in movements:
        if m.alarmed or _leans(m):
            moving[m.identity.probe].append(m)
    who = {i.probe: i for i in known}
    for probe, ms in moving.items():
        who.setdefault(probe, ms[0].identity)
    state = _Claims(moving, who, host_cpu or {})
    groups = [*_vantages(state, known), *_endpoints(state, known), *_models(state)]
    groups += _targets(state)
    return groups


def _leans(m: Movement) -> bool:
    """Half way to its line, and (where its ratio is known) materially moved: a statistic
    that noise pushed up while the points sit near the reference is not moving."""
    return m.pressure >= JOIN_PRESSURE and not (m.ratio < JOIN_RATIO)


class _Claims:
    """The moving probes and which of them a group has taken."""

    def __init__(
        self,
        moving: dict[Probe, list[Movement]],
        who: dict[Probe, Identity],
        host_cpu: Mapping[str, float],
    ) -> None:
        self.moving = moving
        self.who = who
        self.host_cpu = host_cpu
        self.claimed: set[Probe] = set()

    def free(self) -> list[Probe]:
        return sorted(p for p in self.moving if p not in self.claimed)

    def alarmed(self, probes: Iterable[Probe]) -> bool:
        return any(m.alarmed for p in probes for m in self.moving[p])

    def take(self, scope: Scope, subject: str, probes: Iterable[Probe], of: int) -> Group:
        chosen = sorted(set(probes))
        self.claimed.update(chosen)
        members = tuple(m for p in chosen for m in self.moving[p])
        evidence = describe(scope, subject, members, of)
        busy = [self.host_cpu[v] for v in {p[1] for p in chosen} if v in self.host_cpu]
        if busy:
            evidence += f"; host CPU {max(busy):.0%}"
        return Group(scope, subject, members, evidence)


def _enough(moved: int, total: int) -> bool:
    return moved >= 2 and moved >= SHARE * total


def _vantages(state: _Claims, known: Sequence[Identity]) -> Iterator[Group]:
    endpoints: dict[str, set[str]] = defaultdict(set)
    probes_of: dict[str, set[Probe]] = defaultdict(set)
    for i in known:
        endpoints[i.vantage].add(i.endpoint)
        probes_of[i.vantage].add(i.probe)
    for vantage in sorted({state.who[p].vantage for p in state.free()}):
        probes = [p for p in state.free() if state.who[p].vantage == vantage]
        # Only alarmed probes count here: a leaning one may widen an endpoint, not blame us.
        alarmed = [p for p in probes if state.alarmed([p])]
        moved = {state.who[p].endpoint for p in alarmed}
        # One model moving on several endpoints is that model's, not ours.
        models = {state.who[p].model for p in alarmed}
        network = {
            p
            for p in probes
            for m in state.moving[p]
            if m.failing and set(m.reasons) <= NETWORK_REASONS
        }
        ours = [p for p in probes if _ours(state.moving[p])]
        total = len(endpoints.get(vantage, set()) | moved)
        # Our side moves most of what we probe: most endpoints, most probes, several models.
        share = len(alarmed) >= SHARE * len(probes_of.get(vantage, set()) | set(probes))
        spread = _enough(len(moved), total) and len(models) >= 2 and share
        # A busy host slows what it measures everywhere: one endpoint moving alone stays the
        # endpoint's, however busy the host.
        hot = state.host_cpu.get(vantage, 0.0) >= CPU_SATURATED and len(moved) >= 2
        if (spread or hot or len(network) >= 2) and alarmed:
            yield state.take("vantage", vantage or "unknown", probes, total)
        elif ours:
            yield state.take("vantage", vantage or "unknown", ours, total)


def _ours(ms: Sequence[Movement]) -> bool:
    """Every alarmed series of the probe is of a chart on our side."""
    alarmed = [m for m in ms if m.alarmed]
    return bool(alarmed) and all(m.side == "ours" for m in alarmed)


def _endpoints(state: _Claims, known: Sequence[Identity]) -> Iterator[Group]:
    targets: dict[str, set[str]] = defaultdict(set)
    for i in known:
        targets[i.endpoint].add(i.target)
    for endpoint in sorted({state.who[p].endpoint for p in state.free()} - {""}):
        probes = [p for p in state.free() if state.who[p].endpoint == endpoint]
        moved = {p[0] for p in probes}
        total = len(targets.get(endpoint, set()) | moved)
        if _enough(len(moved), total) and state.alarmed(probes):
            yield state.take("endpoint", endpoint, probes, total)


def _models(state: _Claims) -> Iterator[Group]:
    for model in sorted({state.who[p].model for p in state.free()} - {""}):
        probes = [p for p in state.free() if state.who[p].model == model]
        endpoints = {state.who[p].endpoint for p in probes}
        if len(endpoints) >= 2 and state.alarmed(probes):
            yield state.take("model", model, probes, len(endpoints))


def _targets(state: _Claims) -> list[Group]:
    out = []
    for target in sorted({p[0] for p in state.free()}):
        probes = [p for p in state.free() if p[0] == target]
        if state.alarmed(probes):
            out.append(state.take("target", target, probes, len(probes)))
    return out
