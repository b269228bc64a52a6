"""A target's endpoint: scheme://host:port of the URL its probes go to, and its parts."""

from __future__ import annotations

import pytest

from exporter.config.endpoint import Endpoint, endpoint_of
from exporter.config.types import TargetConfig
from exporter.configfile import load_text
from exporter.providers.table import PROVIDERS


@pytest.mark.parametrize(
    ("root_url", "labels"),
    [
        ("https://api.openai.com/v1", ("https://api.openai.com:443", "api.openai.com", "443")),
        ("HTTPS://API.OpenAI.com:443/v1/", ("https://api.openai.com:443", "api.openai.com", "443")),
        ("http://vllm.internal/v1?x=1", ("http://vllm.internal:80", "vllm.internal", "80")),
        # A query right after the host (Azure's api-version and a signature) stays out.
        (
            "https://r.openai.azure.com?api-version=x&sig=s",
            ("https://r.openai.azure.com:443", "r.openai.azure.com", "443"),
        ),
        ("http://127.0.0.1:8000", ("http://127.0.0.1:8000", "127.0.0.1", "8000")),
        ("http://[::1]:11434", ("http://[::1]:11434", "::1", "11434")),
        ("https://[2001:DB8::1]/v1", ("https://[2001:db8::1]:443", "2001:db8::1", "443")),
        ("", ("", "", "")),  # a provider that cannot name its URL (Bedrock without a region)
    ],
)
def test_the_endpoint_is_scheme_host_and_port_normalized(
    root_url: str, labels: tuple[str, str, str]
) -> None:
    target = TargetConfig(name="t", provider="openai", model="m", base_url=root_url)
    assert endpoint_of(target, root_url).labels() == labels


def test_simulated_targets_are_each_their_own_endpoint_unless_they_name_one() -> None:
    config = load_text(
        "targets:\n"
        "  - {name: sim-a, provider: simulated, model: m}\n"
        "  - {name: 'odd:name', provider: simulated, model: m}\n"
        "  - {name: sim-c, provider: simulated, model: m, base_url: 'https://Fleet.example:8443/v1'}\n",
        "t.yml",
        {},
    )
    endpoints = [endpoint_of(t, PROVIDERS[t.provider].endpoint(t)) for t in config.targets]
    assert endpoints == [
        Endpoint("simulated", "sim-a", None),
        Endpoint("simulated", "odd:name", None),
        Endpoint("https", "fleet.example", 8443),
    ]
    assert [e.labels() for e in endpoints] == [
        ("simulated://sim-a", "sim-a", ""),
        ("simulated://odd:name", "odd:name", ""),
        ("https://fleet.example:8443", "fleet.example", "8443"),
    ]


def test_a_provider_default_url_is_the_endpoint_when_base_url_is_left_out() -> None:
    config = load_text(
        "targets:\n"
        "  - {name: a, provider: anthropic, model: m}\n"
        "  - {name: g, provider: gemini, model: m}\n"
        "  - {name: b, provider: bedrock, model: m, region: eu-central-1}\n",
        "t.yml",
        {},
    )
    urls = [endpoint_of(t, PROVIDERS[t.provider].endpoint(t)).url for t in config.targets]
    assert urls == [
        "https://api.anthropic.com:443",
        "https://generativelanguage.googleapis.com:443",
        "https://bedrock-runtime.eu-central-1.amazonaws.com:443",
    ]
