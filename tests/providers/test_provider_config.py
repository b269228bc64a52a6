"""Each provider's own config keys, read and validated by the config loader."""

from __future__ import annotations

import re

import pytest

from exporter.configfile import load_text
from exporter.providers.anthropic import AnthropicOptions
from exporter.providers.azure import AzureOptions
from exporter.providers.bedrock import BedrockOptions
from exporter.providers.gemini import GeminiOptions
from exporter.providers.ollama import OllamaOptions
from servicekit.errors import ConfigError


def load(target: str) -> object:
    return load_text(f"targets:\n  - {target}\n", "p.yml", {}).targets[0].options


def test_provider_options_are_read_into_their_option_objects() -> None:
    assert load(
        "{name: a, provider: anthropic, model: m, anthropic_version: '2024-01-01'}"
    ) == AnthropicOptions("2024-01-01")
    assert load(
        "{name: g, provider: gemini, model: m, api_version: v1, thinking_budget: 0}"
    ) == GeminiOptions("v1", 0)
    assert load(
        "{name: t, provider: anthropic, model: m, max_tokens: 4096, thinking_budget: 1024}"
    ) == AnthropicOptions(thinking_budget=1024)
    assert load("{name: g, provider: gemini, model: m, include_thoughts: true}") == GeminiOptions(
        include_thoughts=True
    )
    assert load("{name: o, provider: ollama, model: m, think: true}") == OllamaOptions(think=True)
    assert load("{name: b, provider: bedrock, model: m, region: eu-west-3}") == BedrockOptions(
        "eu-west-3"
    )
    azure = load(
        "{name: z, provider: azure_openai, model: gpt-4o, base_url: 'https://r.openai.azure.com',"
        " deployment: prod, api_version: '2025-04-01-preview', include_usage: false}"
    )
    assert azure == AzureOptions(
        include_usage=False, deployment="prod", api_version="2025-04-01-preview"
    )


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        (
            "{name: z, provider: azure_openai, model: gpt-4o}",
            "p.yml:2: targets[0].base_url: required",
        ),
        (
            "{name: g, provider: gemini, model: m, thinking_budget: lots}",
            "thinking_budget: expected a whole number",
        ),
        ("{name: a, provider: anthropic, model: m, region: x}", 'unknown key "region"'),
        ("{name: o, provider: ollama, model: m, deployment: x}", 'unknown key "deployment"'),
        (
            "{name: a, provider: anthropic, model: m, max_tokens: 2000, thinking_budget: 2000}",
            "p.yml:2: targets[0].thinking_budget: must be below max_tokens (2000): thinking "
            "counts against it",
        ),
        (
            "{name: a, provider: anthropic, model: m, max_tokens: 9000, thinking_budget: 100}",
            "targets[0].thinking_budget: must be at least 1024, got 100",
        ),
        ("{name: o, provider: ollama, model: m, think: maybe}", "targets[0].think: expected"),
    ],
)
def test_bad_provider_options_are_reported_with_their_path(target: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load(target)
