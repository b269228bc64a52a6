"""The exposition: a golden file of /metrics, and promtool's lint over it.

Run with UPDATE_GOLDEN=1 to rewrite the golden file after an intended change.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from prometheus_client import generate_latest

from exporter.accounting.pricing import cost_usd
from exporter.config.types import PRESETS, Budget, Pricing, TargetConfig
from exporter.metrics.identity import ModelIdentity
from exporter.metrics.probes import ProbeMetrics
from exporter.metrics.vantage import VantageRegistry
from exporter.probing.harness import ProbeResult
from exporter.providers.protocol import ServedBy
from exporter.providers.table import PROVIDERS
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
    TargetConfig(
        name="thinker",
        provider="anthropic",
        model="claude-sonnet-4-5",
        workload=PRESETS["medium"],
        max_tokens=1000,
    ),
)
SEMCONV = ("openai", "simulated", "anthropic")


def exposition() -> str:
    registry = VantageRegistry("eu-west-1")  # as the exporter's /metrics renders it
    metrics, identity = ProbeMetrics(), ModelIdentity()
    registry.register(metrics)
    registry.register(identity)
    # As the exporter declares them: each target with the root URL its provider probes.
    metrics.declare(
        (t, semconv, PROVIDERS[t.provider].endpoint(t))
        for t, semconv in zip(TARGETS, SEMCONV, strict=True)
    )
    identity.declare(t.name for t in TARGETS)
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
    thought = ProbeResult(
        target="thinker",
        timestamp=1_700_000_045.0,
        duration=6.0,
        time_to_first_chunk=0.8,
        time_to_first_reasoning=0.8,
        time_to_first_answer=4.0,
        gaps=(0.05,) * 9,
        chunks=10,
        input_tokens=1003,
        output_tokens=900,
        reasoning_tokens=600,
        status=200,
        served=ServedBy(model="claude-sonnet-4-5-20250929"),
    )
    metrics.record("thinker", thought)
    identity.observe("openai-mini", ServedBy(model="gpt-4o-mini-2024-07-18", fingerprint="fp_1"))
    identity.observe("openai-mini", ServedBy(model="gpt-4o-mini-2024-07-18", fingerprint="fp_2"))
    identity.observe("thinker", thought.served)
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


def test_target_info_names_each_endpoint_and_keeps_paths_and_queries_out() -> None:
    info = [line for line in exposition().splitlines() if line.startswith("llmscope_target_info")]
    assert info == [
        'llmscope_target_info{endpoint="https://api.openai.com:443",model="gpt-4o-mini",'
        'provider="openai",server_address="api.openai.com",server_port="443",'
        'target="openai-mini",vantage="eu-west-1"} 1.0',
        'llmscope_target_info{endpoint="simulated://local",model="sim",provider="simulated",'
        'server_address="local",server_port="",target="local",vantage="eu-west-1"} 1.0',
        # No base_url: the provider's default URL is the endpoint.
        'llmscope_target_info{endpoint="https://api.anthropic.com:443",model="claude-sonnet-4-5",'
        'provider="anthropic",server_address="api.anthropic.com",server_port="443",'
        'target="thinker",vantage="eu-west-1"} 1.0',
    ]
    assert "secret" not in exposition()


def test_every_series_carries_the_vantage() -> None:
    samples = [line for line in exposition().splitlines() if line and not line.startswith("#")]
    assert len(samples) > 100
    assert all('vantage="eu-west-1"' in line for line in samples), [
        line for line in samples if "vantage=" not in line
    ]


def test_estimated_tokens_stay_out_of_the_semconv_histogram() -> None:
    text = exposition()
    assert (
        'llmscope_tokens_total{gen_ai_token_type="output",source="estimated",target="local",'
        'vantage="eu-west-1"} 2.0' in text
    )
    assert (
        'gen_ai_client_token_usage_count{gen_ai_operation_name="chat",gen_ai_provider_name="simulated"'
        not in text
    )


def test_target_without_price_has_no_cost_series() -> None:
    text = exposition()
    assert (
        'llmscope_cost_usd_total{gen_ai_token_type="output",target="openai-mini",vantage="eu-west-1"}'
        in text
    )
    assert (
        'llmscope_cost_usd_total{gen_ai_token_type="input",target="local",vantage="eu-west-1"}'
        not in text
    )


def test_request_metrics_carry_the_workload_and_reasoning_has_its_own_phases() -> None:
    text = exposition()
    labels = (
        'gen_ai_operation_name="chat",gen_ai_provider_name="anthropic",'
        'gen_ai_request_model="claude-sonnet-4-5",target="thinker",vantage="eu-west-1",'
        'workload="medium"'
    )
    assert f"gen_ai_client_operation_time_to_first_reasoning_chunk_seconds_sum{{{labels}}} 0.8" in (
        text
    )
    assert f"gen_ai_client_operation_time_to_first_answer_chunk_seconds_sum{{{labels}}} 4.0" in text
    assert (
        'gen_ai_client_token_usage_sum{gen_ai_operation_name="chat",gen_ai_provider_name='
        '"anthropic",gen_ai_request_model="claude-sonnet-4-5",gen_ai_token_type="reasoning",'
        'target="thinker",vantage="eu-west-1",workload="medium"} 600.0' in text
    )
    # Answer throughput: (900 - 600) answer tokens over the 2 s after the first answer chunk.
    assert f"llmscope_probe_output_tokens_per_second_sum{{{labels}}} 150.0" in text
    # The OpenAI target answered without reasoning: no reasoning series for it at all.
    assert (
        'time_to_first_reasoning_chunk_seconds_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai"'
        not in text
    )


def test_model_info_holds_only_the_current_identity_and_counts_changes() -> None:
    text = exposition()
    info = [line for line in text.splitlines() if line.startswith("llmscope_model_info{")]
    assert info == [
        'llmscope_model_info{model_digest="",model_version="",response_model='
        '"gpt-4o-mini-2024-07-18",system_fingerprint="fp_2",target="openai-mini",'
        'vantage="eu-west-1"} 1.0',
        'llmscope_model_info{model_digest="",model_version="",response_model='
        '"claude-sonnet-4-5-20250929",system_fingerprint="",target="thinker",'
        'vantage="eu-west-1"} 1.0',
    ]
    assert 'llmscope_model_changes_total{target="openai-mini",vantage="eu-west-1"} 1.0' in text
    assert 'llmscope_model_changes_total{target="thinker",vantage="eu-west-1"} 0.0' in text
    assert 'llmscope_model_changes_total{target="local",vantage="eu-west-1"} 0.0' in text
