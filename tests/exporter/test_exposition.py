"""The exposition: a golden file of /metrics, and promtool's lint over it.

Run with UPDATE_GOLDEN=1 to rewrite the golden file after an intended change.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from exporter.accounting.pricing import cost_usd
from exporter.config.types import Budget, Pricing, TargetConfig
from exporter.metrics.probes import ProbeMetrics
from exporter.probing.harness import ProbeResult
from testkit.realservers import PROMTOOL, require

GOLDEN = Path(__file__).parent / "golden" / "exposition.prom"

TARGETS = (
    TargetConfig(
        name="openai-mini",
        provider="openai",
        model="gpt-4o-mini",
        base_url="https://api.openai.com/v1?secret=1",
        api_key_env="OPENAI_API_KEY",
    ),
    TargetConfig(
        name="local",
        provider="simulated",
        model="sim",
        budget=Budget(daily_tokens=1000, daily_usd=0.5),
    ),
)
SEMCONV = ("openai", "simulated")


def exposition() -> str:
    registry = CollectorRegistry()
    metrics = ProbeMetrics()
    registry.register(metrics)
    metrics.declare((t, semconv, t.base_url) for t, semconv in zip(TARGETS, SEMCONV, strict=True))
    metrics.set_idle("local", None)
    ok = ProbeResult(
        target="openai-mini",
        timestamp=1_700_000_000.0,
        duration=1.5,
        time_to_first_chunk=0.5,
        gaps=(0.02, 0.03, 0.004),
        chunks=4,
        input_tokens=20,
        output_tokens=11,
        status=200,
        phases={"connect": 0.012, "tls": 0.03, "first_byte": 0.2},
        rate_limits={"requests": 499.0, "tokens": 199000.0},
    )
    metrics.record("openai-mini", ok, cost_usd(Pricing(input=0.15, output=0.6), 20, 11))
    metrics.set_spent("local", 7, 0.0)
    failed = ProbeResult(
        target="local",
        timestamp=1_700_000_015.0,
        duration=0.25,
        status=503,
        reason="server_error",
        message="HTTP 503: overloaded",
    )
    metrics.record("local", failed)
    estimated = ProbeResult(
        target="local",
        timestamp=1_700_000_030.0,
        duration=0.9,
        time_to_first_chunk=0.3,
        gaps=(0.1,),
        chunks=2,
        input_tokens=5,
        output_tokens=2,
        input_estimated=True,
        output_estimated=True,
        server_timings={"eval": 0.5},
    )
    metrics.record("local", estimated)
    text = generate_latest(registry).decode()
    return re.sub(r'python_version="[^"]*"', 'python_version="X"', text)


def test_exposition_matches_golden_file() -> None:
    text = exposition()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_promtool_check_metrics_finds_nothing() -> None:
    result = subprocess.run(
        [require(PROMTOOL), "check", "metrics"],
        input=exposition(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""


def test_endpoint_label_keeps_only_scheme_and_host() -> None:
    assert 'endpoint="https://api.openai.com"' in exposition()
    assert "secret" not in exposition()


def test_estimated_tokens_stay_out_of_the_semconv_histogram() -> None:
    text = exposition()
    assert (
        'llmscope_tokens_total{gen_ai_token_type="output",source="estimated",target="local"} 2.0'
        in text
    )
    assert (
        'gen_ai_client_token_usage_count{gen_ai_operation_name="chat",gen_ai_provider_name="simulated"'
        not in text
    )


def test_target_without_price_has_no_cost_series() -> None:
    text = exposition()
    assert 'llmscope_cost_usd_total{gen_ai_token_type="output",target="openai-mini"}' in text
    assert 'llmscope_cost_usd_total{gen_ai_token_type="input",target="local"}' not in text
