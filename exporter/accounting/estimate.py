"""What a configuration will cost per day, before the first probe.

Per target: probes per day at its interval, tokens per probe of its workload (input as the
prompt generator sizes it, output at its cap ``max_tokens``, which also bounds reasoning),
and the daily cost from the price table. Output at the cap makes the figure an upper bound
for a probe that succeeds; a ``warm`` workload bills its input at the cached price where
the table has one. ``--config.check`` prints it, the exporter logs it at start, and refuses
to start when a target's estimate passes its daily budget by more than ``BUDGET_FACTOR``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from exporter.accounting.budget import SECONDS_PER_DAY
from exporter.accounting.pricing import PriceTable, cost_usd, price_for
from exporter.config.types import TargetConfig
from exporter.probing.harness import estimate_tokens
from exporter.probing.workload import probe_prompt

#: An estimate above this multiple of a target's daily budget refuses the start: the target
#: would sit paused for more than half of every day, which is a mistake, not a budget.
BUDGET_FACTOR = 2.0


@dataclass(frozen=True)
class TargetCost:
    target: str
    workload: str
    interval: float
    probes_per_day: float
    input_tokens: int
    output_tokens: int
    usd_per_day: float | None  # None: no price known for the model
    budget_usd: float | None = None
    budget_tokens: int | None = None

    @property
    def tokens_per_day(self) -> float:
        return self.probes_per_day * (self.input_tokens + self.output_tokens)


def target_cost(target: TargetConfig, table: PriceTable | None = None) -> TargetCost:
    workload = target.workload
    if workload.input_tokens is not None:
        input_tokens = workload.input_tokens
    else:  # the tiny prompt, counted as the harness estimates unreported input
        input_tokens = estimate_tokens(len(probe_prompt(target, nonce="0" * 12)))
    probes = SECONDS_PER_DAY / target.interval
    price = price_for(target, table)
    usd = None
    if price is not None:
        cached = input_tokens if workload.cache == "warm" else 0
        usd = probes * sum(cost_usd(price, input_tokens, target.max_tokens, cached).values())
    budget = target.budget
    return TargetCost(
        target=target.name,
        workload=workload.name,
        interval=target.interval,
        probes_per_day=probes,
        input_tokens=input_tokens,
        output_tokens=target.max_tokens,
        usd_per_day=usd,
        budget_usd=budget.daily_usd if budget else None,
        budget_tokens=budget.daily_tokens if budget else None,
    )


def over_budget(costs: Iterable[TargetCost], factor: float = BUDGET_FACTOR) -> list[str]:
    """One line per target whose estimate passes ``factor`` times its daily budget."""
    out = []
    for c in costs:
        usd, budget = c.usd_per_day, c.budget_usd
        if usd is not None and budget is not None and usd > factor * budget:
            out.append(
                f"target {c.target}: estimated {usd:.2f} USD/day is more than "
                f"{factor:g} times its budget.daily_usd {budget:g}"
            )
        if c.budget_tokens is not None and c.tokens_per_day > factor * c.budget_tokens:
            out.append(
                f"target {c.target}: estimated {c.tokens_per_day:,.0f} tokens/day is more "
                f"than {factor:g} times its budget.daily_tokens {c.budget_tokens:,}"
            )
    return out


def cost_table(costs: list[TargetCost]) -> list[str]:
    """The estimate as aligned text lines, one per target and a total."""
    rows = [("target", "workload", "interval", "probes/day", "tokens/probe", "USD/day")]
    for c in costs:
        rows.append(
            (
                c.target,
                c.workload,
                f"{c.interval:g}s",
                f"{c.probes_per_day:,.0f}",
                f"{c.input_tokens:,}+{c.output_tokens:,}",
                "no price" if c.usd_per_day is None else f"{c.usd_per_day:,.4f}",
            )
        )
    priced = [c.usd_per_day for c in costs if c.usd_per_day is not None]
    unpriced = len(costs) - len(priced)
    total = f"{sum(priced):,.4f}" + (f" ({unpriced} without a price)" if unpriced else "")
    probes = sum(c.probes_per_day for c in costs)
    rows.append(("total", "", "", f"{probes:,.0f}", "", total))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    ]
