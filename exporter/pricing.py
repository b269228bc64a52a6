"""Prices per model, for the cost counters.

The shipped table (``data/prices.yml``) is USD per one million tokens with the date the
prices were taken; a target's ``pricing`` block overrides it. A model with no known price
has no cost series at all: a zero would claim the probe was free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from exporter.config import Pricing, TargetConfig


@dataclass(frozen=True)
class PriceTable:
    taken: str
    prices: Mapping[tuple[str, str], Pricing]  # (provider kind, model) -> price

    def lookup(self, provider: str, model: str) -> Pricing | None:
        return self.prices.get((provider, model))


@cache
def shipped_table() -> PriceTable:
    text = resources.files("exporter").joinpath("data/prices.yml").read_text(encoding="utf-8")
    return parse_table(yaml.safe_load(text) or {})


def parse_table(raw: Mapping[str, object]) -> PriceTable:
    prices: dict[tuple[str, str], Pricing] = {}
    providers = raw.get("providers") or {}
    assert isinstance(providers, dict)
    for provider, models in providers.items():
        for model, entry in (models or {}).items():
            prices[(str(provider), str(model))] = Pricing(
                input=float(entry["input"]),
                output=float(entry["output"]),
                cached_input=float(entry["cached_input"]) if "cached_input" in entry else None,
            )
    return PriceTable(taken=str(raw.get("taken", "")), prices=prices)


def price_for(target: TargetConfig, table: PriceTable | None = None) -> Pricing | None:
    """The target's own pricing block, else the shipped table's entry, else None."""
    if target.pricing is not None:
        return target.pricing
    return (table or shipped_table()).lookup(target.provider, target.model)


def cost_usd(
    price: Pricing, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0
) -> dict[str, float]:
    """Spend by token type; cached input tokens are billed at the cached rate when known."""
    cached = min(cached_input_tokens, input_tokens) if price.cached_input is not None else 0
    out = {
        "input": (input_tokens - cached) * price.input / 1e6,
        "output": output_tokens * price.output / 1e6,
    }
    if cached and price.cached_input is not None:
        out["cached_input"] = cached * price.cached_input / 1e6
    return out
