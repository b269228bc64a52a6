"""Prices per model, for the cost counters.

The shipped table (``data/prices.yml``) is USD per one million tokens with the date the
prices were taken; a target's ``pricing`` block overrides it. A model with no known price
has no cost series at all: a zero would claim the probe was free.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from exporter.config.types import Pricing, TargetConfig

_FIELDS = ("input", "output", "cached_input")


@dataclass(frozen=True)
class PriceTable:
    taken: str
    prices: Mapping[tuple[str, str], Pricing]  # (provider kind, model) -> price

    def lookup(self, provider: str, model: str) -> Pricing | None:
        return self.prices.get((provider, model))


@cache
def shipped_table() -> PriceTable:
    text = resources.files("exporter").joinpath("data/prices.yml").read_text(encoding="utf-8")
    return parse_table(yaml.safe_load(text) or {}, "prices.yml")


def parse_table(raw: Mapping[str, object], source: str = "price table") -> PriceTable:
    """Read ``{taken, providers: {kind: {model: {input, output[, cached_input]}}}}``.

    Raises ValueError with one line naming the entry that is wrong.
    """
    if not isinstance(raw, Mapping):
        raise ValueError(f"{source}: expected a mapping with taken and providers")
    providers = raw.get("providers") or {}
    if not isinstance(providers, Mapping):
        raise ValueError(f"{source}: providers must map provider kinds to models")
    prices: dict[tuple[str, str], Pricing] = {}
    for provider, models in providers.items():
        if not isinstance(models, Mapping):
            raise ValueError(f"{source}: providers.{provider} must map model names to prices")
        for model, entry in models.items():
            prices[(str(provider), str(model))] = _entry(entry, f"{source}: {provider}/{model}")
    return PriceTable(taken=str(raw.get("taken") or ""), prices=prices)


def _entry(entry: object, where: str) -> Pricing:
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: expected {{input, output, cached_input}} in USD per 1M")
    unknown = set(entry) - set(_FIELDS)
    if unknown:
        raise ValueError(
            f"{where}: unknown field {sorted(unknown)[0]} (known: {', '.join(_FIELDS)})"
        )
    values: dict[str, float] = {}
    for name in _FIELDS:
        if name not in entry:
            if name != "cached_input":
                raise ValueError(f"{where}: {name} is required (USD per 1M tokens)")
            continue
        value = entry[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where}: {name} must be a number, got {value!r}")
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{where}: {name} must be a finite number >= 0, got {value}")
        values[name] = float(value)
    return Pricing(values["input"], values["output"], values.get("cached_input"))


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


def probe_spend(
    target: TargetConfig, input_tokens: int | None, output_tokens: int | None, cached: int | None
) -> dict[str, float] | None:
    """What one probe cost by token type; None without a known price or without tokens.
    A probe that failed after content arrived was billed too, so it has a cost."""
    price = price_for(target)
    if price is None or not (input_tokens or output_tokens):
        return None
    return cost_usd(price, input_tokens or 0, output_tokens or 0, cached or 0)
