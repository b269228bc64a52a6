"""What probing costs, up front: the estimate, --config.check's table, and the start guard."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from exporter.accounting.estimate import BUDGET_FACTOR, over_budget, target_cost
from exporter.config.types import PRESETS, Budget, Pricing, TargetConfig
from tests.exporter.exporter_process import exporter_process
from tests.exporter.test_cli import run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "llmscope.yml"


def test_estimate_is_probes_per_day_times_tokens_times_price() -> None:
    target = TargetConfig(
        name="a",
        provider="anthropic",
        model="claude-haiku-4-5",
        interval=600.0,
        workload=PRESETS["medium"],
        max_tokens=1000,
    )
    cost = target_cost(target)
    assert cost.probes_per_day == 144
    assert (cost.input_tokens, cost.output_tokens) == (1000, 1000)
    # claude-haiku-4-5: 1 USD per 1M input, 5 USD per 1M output in the shipped table.
    assert cost.usd_per_day == pytest.approx(144 * (1000 * 1.0 + 1000 * 5.0) / 1e6)


def test_warm_workload_bills_input_at_the_cached_price_and_unknown_models_have_none() -> None:
    warm = TargetConfig(
        name="w",
        provider="openai",
        model="custom",
        interval=60.0,
        workload=PRESETS["long"].__class__("long-warm", 10000, 1500, "warm"),
        max_tokens=1500,
        pricing=Pricing(input=2.0, output=8.0, cached_input=0.5),
    )
    assert target_cost(warm).usd_per_day == pytest.approx(1440 * (10000 * 0.5 + 1500 * 8) / 1e6)
    unknown = TargetConfig(name="u", provider="openai", model="not-in-the-table")
    assert target_cost(unknown).usd_per_day is None


def test_over_budget_names_targets_past_the_stated_factor_only() -> None:
    def cost(daily_usd: float) -> TargetConfig:
        return TargetConfig(
            name=f"b{daily_usd:g}",
            provider="anthropic",
            model="claude-haiku-4-5",
            interval=600.0,
            workload=PRESETS["medium"],
            max_tokens=1000,
            budget=Budget(daily_usd=daily_usd, daily_tokens=10_000_000),
        )

    estimate = 0.864  # USD/day, as above
    inside, outside = cost(estimate / BUDGET_FACTOR + 0.01), cost(estimate / BUDGET_FACTOR - 0.01)
    assert over_budget([target_cost(inside)]) == []
    (line,) = over_budget([target_cost(outside)])
    assert line == (
        f"target {outside.name}: estimated 0.86 USD/day is more than {BUDGET_FACTOR:g} times "
        f"its budget.daily_usd {outside.budget.daily_usd:g}"  # type: ignore[union-attr]
    )
    tokens = TargetConfig(
        name="t", provider="simulated", model="m", interval=1.0, budget=Budget(daily_tokens=100)
    )
    (line,) = over_budget([target_cost(tokens)])
    assert "tokens/day is more than 2 times its budget.daily_tokens 100" in line


def test_config_check_prints_the_cost_table_of_the_example_config() -> None:
    no_keys = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    result = run_cli("--config.file", str(EXAMPLE), "--config.check", env=no_keys)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{EXAMPLE}: valid, 4 targets",
        "target           workload  interval  probes/day  tokens/probe  USD/day",
        "openai-mini      tiny      30s       2,880       10+32         0.0596",
        "claude-haiku-1k  medium    600s      144         1,000+1,000   0.8640",
        "vllm-local       tiny      15s       5,760       10+32         no price",
        "simulated        tiny      15s       5,760       10+32         no price",
        "total                                14,544                    0.9236 (2 without a price)",
        "target openai-mini will be idle: environment variable OPENAI_API_KEY is not set",
        "target claude-haiku-1k will be idle: environment variable ANTHROPIC_API_KEY is not set",
    ]
    # The total is the sum of the priced rows: 2,880 probes of 10 in + 32 out on gpt-4o-mini.
    assert math.isclose(2880 * (10 * 0.15 + 32 * 0.60) / 1e6, 0.0596, abs_tol=5e-5)


OVER = """\
targets:
  - name: pricey
    provider: anthropic
    model: claude-haiku-4-5
    api_key_env: ANTHROPIC_API_KEY
    interval: 1m
    workload: medium
    budget: {daily_usd: 1.0}
"""


def test_exporter_refuses_to_start_far_over_budget_unless_told(tmp_path: Path) -> None:
    path = tmp_path / "over.yml"
    path.write_text(OVER)
    check = run_cli("--config.file", str(path), "--config.check")
    assert check.returncode == 0
    assert check.stdout.splitlines()[-1] == (
        "would refuse to start: target pricey: estimated 8.64 USD/day is more than 2 times "
        "its budget.daily_usd 1"
    )
    refused = run_cli("--config.file", str(path), "--web.listen-address=127.0.0.1:0")
    assert refused.returncode == 2
    assert "estimated 8.64 USD/day is more than 2 times its budget.daily_usd 1; not starting" in (
        refused.stderr
    )
    assert "Traceback" not in refused.stderr
    with exporter_process(path, tmp_path, args=("--budget.ignore-estimate",)) as running:
        log = running.log()  # the estimate is logged before the server answers
        assert "estimated cost: pricey" in log and "(--budget.ignore-estimate)" in log
