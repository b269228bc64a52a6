"""Provider faults through the running Exporter: reasons, Retry-After, auth logging, cost."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry

from exporter.app import Exporter
from exporter.configfile import load_text
from exporter.providers.table import PROVIDERS
from servicekit.errors import ConfigError
from testkit.fakeserver import FakeRequest, Script, serving
from testkit.wire import (
    Plan,
    always,
    anthropic_error,
    anthropic_script,
    bedrock_script,
    in_turn,
    json_error,
    ollama_script,
)

KEYS = {"ANTHROPIC_KEY": "sk-ant-secret-0123", "BEDROCK_KEY": "bedrock-secret-0123"}


def config_text(*targets: str) -> str:
    return "targets:\n" + "".join(targets)


def target_yaml(
    name: str, provider: str, url: str, model: str, interval: str, extra: str = ""
) -> str:
    return (
        f"  - name: {name}\n    provider: {provider}\n    base_url: {url}\n    model: {model}\n"
        f"    interval: {interval}\n    timeout: 2s\n    stall_timeout: 1s\n{extra}"
    )


def anthropic_target(name: str, url: str, interval: str = "30ms") -> str:
    return target_yaml(
        name, "anthropic", url, "claude-haiku-4-5", interval, "    api_key_env: ANTHROPIC_KEY\n"
    )


async def run_until(
    text: str, done: Callable[[CollectorRegistry], bool], seconds: float = 10.0
) -> CollectorRegistry:
    registry = CollectorRegistry()
    exporter = Exporter(lambda: load_text(text, "test.yml", {}), registry, environ=KEYS)
    await exporter.start()
    try:
        deadline = time.monotonic() + seconds
        while not done(registry) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    finally:
        await exporter.stop()
    assert done(registry), "the exporter did not get there in time"
    return registry


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def probes(registry: CollectorRegistry, target: str) -> float:
    return value(registry, "llmscope_probes_total", target=target)


def test_unknown_provider_kind_is_an_error_listing_every_known_kind() -> None:
    text = "targets:\n  - name: x\n    provider: openia\n    model: m\n    base_url: http://h\n"
    with pytest.raises(ConfigError) as caught:
        load_text(text, "bad.yml", {})
    message = str(caught.value)
    assert message.startswith("bad.yml:3: targets[0].provider: ") and '"openia"' in message
    for kind in ("openai", "azure_openai", "anthropic", "gemini", "bedrock", "ollama", "simulated"):
        assert kind in message
    assert set(PROVIDERS) == {
        "openai",
        "azure_openai",
        "anthropic",
        "gemini",
        "bedrock",
        "ollama",
        "simulated",
    }


# A faulty target next to a healthy one: each fault gets its reason, the other keeps going.
FAULTS: dict[str, Callable[[], tuple[str, str, str, Script]]] = {
    "rate_limited": lambda: (
        "anthropic",
        "claude-haiku-4-5",
        "    api_key_env: ANTHROPIC_KEY\n",
        json_error(429, anthropic_error("rate_limit_error", "slow down"), {"retry-after": "0"}),
    ),
    "auth": lambda: (
        "anthropic",
        "claude-haiku-4-5",
        "    api_key_env: ANTHROPIC_KEY\n",
        json_error(401, anthropic_error("authentication_error", "invalid x-api-key")),
    ),
    "server_error": lambda: (
        "gemini",
        "gemini-2.5-flash",
        "",
        json_error(503, {"error": {"code": 503, "status": "UNAVAILABLE", "message": "busy"}}),
    ),
    "provider_error": lambda: (
        "anthropic",
        "claude-haiku-4-5",
        "    api_key_env: ANTHROPIC_KEY\n",
        anthropic_script(Plan(error_after=1)),
    ),
    "truncated": lambda: ("ollama", "llama3.2", "", ollama_script(Plan(cut_after=2))),
    "protocol": lambda: (
        "bedrock",
        "amazon.nova-lite-v1:0",
        "    region: us-east-1\n    api_key_env: BEDROCK_KEY\n",
        bedrock_script(Plan(), bad_crc_at=0),
    ),
}


@pytest.mark.parametrize("reason", list(FAULTS))
def test_a_faulty_target_gets_its_reason_and_the_healthy_one_keeps_probing(reason: str) -> None:
    provider, model, extra, script = FAULTS[reason]()

    def done(registry: CollectorRegistry) -> bool:
        return (
            probes(registry, "healthy") >= 5
            and value(registry, "llmscope_probe_errors_total", target="faulty", reason=reason) >= 2
        )

    async def scenario() -> CollectorRegistry:
        async with (
            serving(always(anthropic_script(Plan()))) as good,
            serving(always(script)) as bad,
        ):
            text = config_text(
                anthropic_target("healthy", good.url),
                target_yaml("faulty", provider, bad.url, model, "30ms", extra),
            )
            return await run_until(text, done)

    registry = asyncio.run(scenario())
    assert value(registry, "llmscope_probe_success", target="healthy") == 1
    assert value(registry, "llmscope_probe_errors_total", target="healthy", reason=reason) == 0
    assert value(registry, "llmscope_probe_success", target="faulty") == 0


def test_429_retry_after_makes_the_next_probe_of_that_target_wait() -> None:
    arrivals: list[float] = []
    limited = json_error(
        429, anthropic_error("rate_limit_error", "slow down"), {"retry-after": "1"}
    )
    turns = in_turn(limited, anthropic_script(Plan()))

    def route(request: FakeRequest) -> Script:
        arrivals.append(time.monotonic())
        return turns(request)

    async def scenario() -> CollectorRegistry:
        async with serving(route) as server:
            text = config_text(anthropic_target("limited", server.url, interval="50ms"))
            return await run_until(text, lambda r: probes(r, "limited") >= 3)

    registry = asyncio.run(scenario())
    assert (
        value(registry, "llmscope_probe_errors_total", target="limited", reason="rate_limited") == 1
    )
    # At 50ms intervals the next probe would come at once; Retry-After: 1 holds it back.
    assert arrivals[1] - arrivals[0] >= 0.95
    assert arrivals[2] - arrivals[1] < arrivals[1] - arrivals[0]
    assert value(registry, "llmscope_probe_skipped_total", target="limited") >= 10


def test_auth_failure_is_logged_once_per_target_and_counted_every_probe(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="llmscope")
    refused = always(json_error(401, anthropic_error("authentication_error", "invalid x-api-key")))

    async def scenario() -> CollectorRegistry:
        async with serving(refused) as server:
            text = config_text(anthropic_target("locked", server.url, interval="20ms"))
            return await run_until(text, lambda r: probes(r, "locked") >= 5)

    registry = asyncio.run(scenario())
    auth_lines = [r for r in caplog.records if "authentication refused" in r.getMessage()]
    assert len(auth_lines) == 1 and "locked" in auth_lines[0].getMessage()
    assert auth_lines[0].levelno == logging.ERROR
    assert value(registry, "llmscope_probe_errors_total", target="locked", reason="auth") >= 5
    assert all(KEYS["ANTHROPIC_KEY"] not in r.getMessage() for r in caplog.records)


def test_priced_target_has_cost_series_and_unpriced_target_has_none() -> None:
    def both_probed(registry: CollectorRegistry) -> bool:
        return probes(registry, "priced") >= 1 and probes(registry, "unpriced") >= 1

    async def scenario() -> CollectorRegistry:
        async with serving(
            always(anthropic_script(Plan(input_tokens=1000, output_tokens=4)))
        ) as server:
            text = config_text(
                anthropic_target("priced", server.url, interval="200ms"),
                target_yaml(
                    "unpriced",
                    "anthropic",
                    server.url,
                    "claude-unreleased",
                    "200ms",
                    "    api_key_env: ANTHROPIC_KEY\n",
                ),
            )
            return await run_until(text, both_probed)

    registry = asyncio.run(scenario())
    assert (
        value(registry, "llmscope_cost_usd_total", target="priced", gen_ai_token_type="input") > 0
    )
    assert (
        value(registry, "llmscope_cost_usd_total", target="priced", gen_ai_token_type="output") > 0
    )
    unpriced = [
        s
        for f in registry.collect()
        if f.name == "llmscope_cost_usd"
        for s in f.samples
        if s.labels.get("target") == "unpriced"
    ]
    assert unpriced == []
