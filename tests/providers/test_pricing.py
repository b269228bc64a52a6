"""The shipped price table, per-target overrides, and the table's validation."""

from __future__ import annotations

import re
from datetime import date

import pytest

from exporter.accounting.pricing import cost_usd, parse_table, price_for, shipped_table
from exporter.config.types import Pricing, TargetConfig
from exporter.configfile import load_text
from exporter.providers.table import PROVIDERS


def test_shipped_table_is_dated_and_names_only_known_provider_kinds() -> None:
    table = shipped_table()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", table.taken)
    assert date.fromisoformat(table.taken) <= date.today()
    kinds = {provider for provider, _ in table.prices}
    assert kinds <= set(PROVIDERS) - {"simulated", "ollama"}
    assert kinds == {"openai", "azure_openai", "anthropic", "gemini", "bedrock"}
    for (provider, model), price in table.prices.items():
        assert price.input > 0 and price.output >= price.input, (provider, model)
        assert price.cached_input is None or price.cached_input < price.input, (provider, model)


def targets(extra: str = "") -> list[TargetConfig]:
    text = (
        "targets:\n"
        "  - {name: a, provider: anthropic, model: claude-haiku-4-5}\n"
        "  - {name: b, provider: anthropic, model: claude-haiku-4-5,\n"
        "     pricing: {input: 9, output: 99}}\n"
        "  - {name: c, provider: gemini, model: my-tuned-model}\n"
        "  - {name: d, provider: gemini, model: my-tuned-model,\n"
        "     pricing: {input: 1, output: 2, cached_input: 0.5}}\n"
    )
    return list(load_text(text + extra, "t.yml", {}).targets)


def test_table_price_then_target_override_then_no_price() -> None:
    a, b, c, d = targets()
    assert price_for(a) == shipped_table().lookup("anthropic", "claude-haiku-4-5")
    assert price_for(b) == Pricing(9.0, 99.0)
    assert price_for(c) is None
    assert price_for(d) == Pricing(1.0, 2.0, 0.5)


def test_cached_tokens_are_billed_at_the_cached_rate_only_when_it_is_known() -> None:
    assert cost_usd(Pricing(2.0, 8.0, 0.5), 1000, 10, 400) == pytest.approx(
        {"input": 600 * 2.0 / 1e6, "output": 10 * 8.0 / 1e6, "cached_input": 400 * 0.5 / 1e6}
    )
    assert cost_usd(Pricing(2.0, 8.0), 1000, 10, 400) == pytest.approx(
        {"input": 1000 * 2.0 / 1e6, "output": 10 * 8.0 / 1e6}
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"input": 1}, "x.yml: openai/m: output is required (USD per 1M tokens)"),
        ({"input": -1, "output": 1}, "x.yml: openai/m: input must be a finite number >= 0, got -1"),
        ({"input": "1", "output": 1}, "x.yml: openai/m: input must be a number, got '1'"),
        (
            {"input": 1, "output": 2, "cache": 1},
            "x.yml: openai/m: unknown field cache (known: input, output, cached_input)",
        ),
        ([1, 2], "x.yml: openai/m: expected {input, output, cached_input} in USD per 1M"),
    ],
)
def test_bad_table_entries_are_one_line_errors_naming_the_entry(
    entry: object, message: str
) -> None:
    with pytest.raises(ValueError, match=r"^x\.yml: openai/m: ") as caught:
        parse_table({"taken": "2026-01-01", "providers": {"openai": {"m": entry}}}, "x.yml")
    assert str(caught.value) == message
