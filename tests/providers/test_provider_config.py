"""Each provider's own config keys, read and validated by the config loader."""

from __future__ import annotations

import pytest

from exporter.config.loader import load_text
from exporter.providers.anthropic import AnthropicOptions
from exporter.providers.azure import AzureOptions
from exporter.providers.bedrock import BedrockOptions
from exporter.providers.gemini import GeminiOptions
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
    ],
)
def test_bad_provider_options_are_reported_with_their_path(target: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        load(target)
