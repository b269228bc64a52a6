"""The cost guard: per-target daily token and spend budgets.

A target whose spend or tokens for the current UTC day have reached its budget pauses until
the next UTC day. The check runs before each probe, so a day can overshoot by at most one
probe, whose size ``max_tokens`` bounds (it is always sent). Probes are never retried, so
nothing multiplies spend. Counts live in memory: a restart starts the day's count afresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from exporter.config.types import Budget

SECONDS_PER_DAY = 86400


@dataclass
class _Day:
    day: int
    tokens: int = 0
    usd: float = 0.0


class BudgetGuard:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._days: dict[str, _Day] = {}

    def _today(self, target: str) -> _Day:
        day = int(self._clock() // SECONDS_PER_DAY)
        current = self._days.get(target)
        if current is None or current.day != day:
            current = self._days[target] = _Day(day)
        return current

    def exhausted(self, target: str, budget: Budget | None) -> bool:
        """Whether the target must pause for the rest of the UTC day."""
        if budget is None:
            return False
        today = self._today(target)
        if budget.daily_tokens is not None and today.tokens >= budget.daily_tokens:
            return True
        return budget.daily_usd is not None and today.usd >= budget.daily_usd

    def charge(self, target: str, tokens: int, usd: float) -> None:
        today = self._today(target)
        today.tokens += tokens
        today.usd += usd

    def spent(self, target: str) -> tuple[int, float]:
        today = self._today(target)
        return today.tokens, today.usd

    def seconds_to_next_day(self) -> float:
        now = self._clock()
        return SECONDS_PER_DAY - (now % SECONDS_PER_DAY)
