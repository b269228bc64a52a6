"""The records the incident decision works on: who a chart series is, and how it moved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Literal

from spc_rules.sidecar.config.model import Side

Scope = Literal["target", "model", "endpoint", "vantage"]
SCOPES: tuple[Scope, ...] = ("target", "model", "endpoint", "vantage")
# Failure reasons of our side of the network path: a name that does not resolve, a connection
# that cannot be made, a handshake that fails (exporter/errors.py).
NETWORK_REASONS = frozenset({"dns", "connect", "tls"})


@dataclass(frozen=True, order=True)
class Identity:
    """Where a chart series' observations come from. ``target`` is one model on one endpoint;
    ``vantage`` the exporter that probed it ("" when unknown)."""

    target: str
    model: str = ""
    endpoint: str = ""
    vantage: str = ""

    @property
    def probe(self) -> tuple[str, str]:
        """A target seen from one vantage: the unit the decision counts."""
        return (self.target, self.vantage)


# Identity's own order as a key: its fields' values, in field order (a C-level tuple; the
# generated __lt__ over 10,000 identities cost a tenth of a second each cycle).
IDENTITY_ORDER = attrgetter(*(f.name for f in fields(Identity)))


@dataclass(frozen=True)
class Movement:
    """One chart series at one severity in this cycle."""

    chart: str
    series: str  # the sidecar's ``series`` label
    identity: Identity
    side: Side
    alarmed: bool  # an episode is open (a failure run counts)
    since: float  # timestamp of the point that opened it; NaN when not alarmed
    pressure: float  # the detector's statistic over its decision line (0 calm, 1 alarm)
    ratio: float  # the newest point over the reference (NaN: unknown, or a p chart)
    interval: float  # the series' point interval in seconds (NaN: unknown)
    reasons: Mapping[str, int] = field(default_factory=dict)  # failed probes by reason
    # How long its alarm may lag the cause: a p chart's subgroup, which a failing probe's
    # interval (its scrapes) does not show. NaN: the interval.
    lag: float = float("nan")

    @property
    def failing(self) -> bool:
        return bool(self.reasons) and self.alarmed
