"""Azure OpenAI: the OpenAI Chat Completions wire format behind a deployment URL.

``{base_url}/openai/deployments/{deployment}/chat/completions?api-version=...`` with the
key in an ``api-key`` header, as Azure's data-plane inference reference documents it.
``base_url`` is the resource endpoint the SDK's ``azure_endpoint`` takes
(``https://NAME.openai.azure.com``). Streams, usage chunks and rate-limit headers are the
OpenAI ones, so the decoder is shared. An ``api-version`` in ``base_url``'s own query wins
over ``api_version`` (``exporter.transport.urls.append_path``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

import yaml

from exporter.providers.openai import OpenAIOptions, OpenAIProvider
from exporter.transport.urls import append_path
from servicekit.yamlconf import Reader

if TYPE_CHECKING:
    from exporter.config.types import TargetConfig

# The latest dated GA version of the data-plane inference API (it streams usage chunks).
API_VERSION = "2024-10-21"


@dataclass(frozen=True)
class AzureOptions(OpenAIOptions):
    deployment: str | None = None  # defaults to the target's model
    api_version: str = API_VERSION


class AzureOpenAIProvider(OpenAIProvider):
    kind = "azure_openai"
    semconv_name = "azure.ai.openai"
    option_keys = OpenAIProvider.option_keys | {"deployment", "api_version"}

    def parse_options(self, reader: Reader, keys: Mapping[str, yaml.Node], path: str) -> object:
        base = super().parse_options(reader, keys, path)
        assert isinstance(base, OpenAIOptions)
        return AzureOptions(
            include_usage=base.include_usage,
            max_tokens_field=base.max_tokens_field,
            deployment=reader.optional(keys, "deployment", path, reader.string, None),
            api_version=reader.optional(keys, "api_version", path, reader.string, API_VERSION),
        )

    def validate(self, reader: Reader, target: TargetConfig, node: yaml.Node, path: str) -> None:
        if not target.base_url:
            reader.fail(node, f"{path}.base_url", "required (e.g. https://NAME.openai.azure.com)")

    def chat_url(self, target: TargetConfig, options: OpenAIOptions) -> str:
        azure = options if isinstance(options, AzureOptions) else AzureOptions()
        deployment = quote(azure.deployment or target.model, safe="")
        version = quote(azure.api_version, safe="")
        path = f"/openai/deployments/{deployment}/chat/completions?api-version={version}"
        return append_path(target.base_url, path)

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"api-key": api_key}
