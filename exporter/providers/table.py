"""The table that maps config kinds to provider modules, one per wire format.

Like blackbox_exporter's ``prober.go``: the harness looks a provider up here by the
target's ``provider`` kind and never learns its details.
"""

from __future__ import annotations

from exporter.providers.anthropic import AnthropicProvider
from exporter.providers.azure import AzureOpenAIProvider
from exporter.providers.bedrock import BedrockProvider
from exporter.providers.gemini import GeminiProvider
from exporter.providers.ollama import OllamaProvider
from exporter.providers.openai import OpenAIProvider
from exporter.providers.protocol import Provider
from exporter.providers.simulated import SimulatedProvider


def _table(*providers: Provider) -> dict[str, Provider]:
    return {p.kind: p for p in providers}


PROVIDERS: dict[str, Provider] = _table(
    OpenAIProvider(),
    AzureOpenAIProvider(),
    AnthropicProvider(),
    GeminiProvider(),
    BedrockProvider(),
    OllamaProvider(),
    SimulatedProvider(),
)

__all__ = ["PROVIDERS", "Provider"]
