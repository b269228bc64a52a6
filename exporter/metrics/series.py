"""What the exporter has measured, as plain data: one ``TargetSeries`` per configured target.

Nothing here knows prometheus_client. The collector (``exporter.metrics.probes``) turns this
state into fresh metric families at every scrape, so removing a target is deleting its entry:
there is no list of families to purge by hand.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from exporter.config.endpoint import endpoint_of
from exporter.config.types import TargetConfig
from exporter.errors import REASONS

IDLE_REASONS = ("missing_api_key", "budget_exhausted")


class Histo:
    """A classic histogram's state: counts per upper bound, the sum and the count."""

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * len(self.bounds)  # not cumulative; +Inf is ``count``
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        index = bisect.bisect_left(self.bounds, value)  # le is inclusive, as in Prometheus
        if index < len(self.counts):
            self.counts[index] += 1
        self.count += 1
        self.sum += value


@dataclass
class Budget:
    """The budget gauges of a target that has a budget."""

    paused: float = 0.0
    spent_tokens: float = 0.0
    spent_usd: float = 0.0
    daily_usd: float | None = None
    daily_tokens: float | None = None


@dataclass
class TargetSeries:
    """Every series of one target. Dicts keep insertion order, which is exposition order."""

    # target, provider (semconv), model, operation, workload: the request metrics' labels
    genai: tuple[str, str, str, str, str]
    # target, provider kind, model, endpoint, server_address, server_port
    info: tuple[str, str, str, str, str, str]
    interval: float
    budget: Budget | None
    probes: float = 0.0
    errors: dict[str, float] = field(default_factory=lambda: dict.fromkeys(REASONS, 0.0))
    idle: dict[str, float] = field(default_factory=dict)
    success: float | None = None
    last: float | None = None
    status: float | None = None
    duration: dict[str, Histo] = field(default_factory=dict)  # by error_type
    ttfc: Histo | None = None
    ttfr: Histo | None = None  # time to first reasoning chunk
    ttfa: Histo | None = None  # time to first answer chunk
    chunk_gap: Histo | None = None
    token_usage: dict[str, Histo] = field(default_factory=dict)  # by token type
    throughput: Histo | None = None
    tokens: dict[tuple[str, str], float] = field(default_factory=dict)  # (type, source)
    phase: dict[str, Histo] = field(default_factory=dict)
    server_phase: dict[str, Histo] = field(default_factory=dict)
    lateness: Histo | None = None
    skipped: float | None = None
    rate_limit: dict[str, float] = field(default_factory=dict)
    cost: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, target: TargetConfig, semconv_name: str, root_url: str) -> TargetSeries:
        return cls(
            genai=(target.name, semconv_name, target.model, OPERATION, target.workload.name),
            info=(
                target.name,
                target.provider,
                target.model,
                *endpoint_of(target, root_url).labels(),
            ),
            interval=target.interval,
            budget=budget_of(target),
        )


OPERATION = "chat"


def budget_of(target: TargetConfig) -> Budget | None:
    """Budget gauges exist only for targets with a budget."""
    if target.budget is None:
        return None
    return Budget(daily_usd=target.budget.daily_usd, daily_tokens=target.budget.daily_tokens)


def histo(slot: dict[str, Histo], key: str, bounds: Sequence[float]) -> Histo:
    """The histogram under ``key``, created on first use."""
    found = slot.get(key)
    if found is None:
        found = slot[key] = Histo(bounds)
    return found
