"""A base_url with a query string (Azure's ``?api-version=...``): every provider that appends
a path puts it before the query, as the request line a local server receives shows."""

from __future__ import annotations

import asyncio

import pytest

from exporter.configfile import load_text
from exporter.probing.harness import ProbeResult, run_probe
from exporter.providers.protocol import ProbeContext
from exporter.providers.table import PROVIDERS
from exporter.transport.client import ProbeClient
from exporter.transport.urls import append_path
from servicekit.errors import ConfigError
from testkit.fakeserver import FakeRequest, Script, serving
from testkit.wire import Plan, ollama_tags
from tests.reliability.matrix import WIRES

QUERY = "api-version=2024-10-21"
# kind -> the request lines of one probe, under a base_url of /openai/v1?api-version=...
REQUEST_LINES = {
    "openai": [f"POST /openai/v1/chat/completions?{QUERY}"],
    # the base_url's api-version wins over the provider's own (here: a preview version)
    "azure_openai": ["POST /openai/v1/openai/deployments/m-1/chat/completions?{query}"],
    "anthropic": [f"POST /openai/v1/v1/messages?{QUERY}"],
    "gemini": [f"POST /openai/v1/v1beta/models/m-1:streamGenerateContent?{QUERY}&alt=sse"],
    "bedrock": [f"POST /openai/v1/model/m-1/converse-stream?{QUERY}"],
    "ollama": [f"POST /openai/v1/api/chat?{QUERY}", f"GET /openai/v1/api/tags?{QUERY}"],
}


def request_line(request: FakeRequest) -> str:
    target = request.path + (f"?{request.query}" if request.query else "")
    return f"{request.method} {target}"


async def one_probe(kind: str, query: str) -> tuple[ProbeResult, list[FakeRequest]]:
    wire = WIRES[kind]

    def route(request: FakeRequest) -> Script:
        if request.path.endswith("/api/tags"):
            return ollama_tags("m-1")
        return wire.good(Plan())

    async with serving(route) as server:
        text = (
            f"targets:\n  - name: q\n    provider: {kind}\n    model: m-1\n"
            f"    base_url: {server.url}/openai/v1?{query}\n"
            + ("    region: us-east-1\n" if kind == "bedrock" else "")
            + ('    api_version: "2099-01-01"\n' if kind == "azure_openai" else "")
        )
        target = load_text(text, "q.yml", {}).targets[0]
        ctx = ProbeContext(client=ProbeClient(environ={}), target=target, prompt="p")
        ctx.api_key = "k-123"
        result = await run_probe(PROVIDERS[kind], ctx)
        return result, list(server.requests)


@pytest.mark.parametrize("kind", sorted(REQUEST_LINES))
def test_a_provider_path_goes_before_the_base_urls_query(kind: str) -> None:
    query = "api-version=2025-04-01-preview" if kind == "azure_openai" else QUERY
    result, requests = asyncio.run(one_probe(kind, query))
    assert result.success, result.message
    expected = [line.format(query=query) for line in REQUEST_LINES[kind]]
    assert [request_line(r) for r in requests] == expected


def test_append_path_merges_the_queries_with_the_base_urls_first() -> None:
    assert append_path("https://h/v1", "/chat") == "https://h/v1/chat"
    assert append_path("https://h/v1/?a=1", "/x?b=2&a=9") == "https://h/v1/x?a=1&b=2"
    assert append_path("https://h?a=1", "/x") == "https://h/x?a=1"


def test_a_base_url_with_a_query_passes_the_check_and_a_fragment_is_refused() -> None:
    azure = (
        "targets:\n  - name: a\n    provider: openai\n    model: m\n"
        "    base_url: https://r.openai.azure.com/openai/v1?api-version=preview\n"
    )
    (target,) = load_text(azure, "f.yml", {}).targets
    assert target.base_url == "https://r.openai.azure.com/openai/v1?api-version=preview"
    fragment = "  - name: b\n    provider: openai\n    model: m\n    base_url: https://x/v1#m\n"
    with pytest.raises(ConfigError) as info:
        load_text(azure + fragment, "f.yml", {})
    assert str(info.value) == (
        "f.yml:9: targets[1].base_url: 'https://x/v1#m' has a fragment (#...), which is never "
        "sent to a server"
    )
