"""The exporter scraped by a real Prometheus: ``up``, a histogram and the targets' endpoints
read back via the API."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from testkit.fakeserver import serving_in_thread
from testkit.openai_fake import always, stream_script
from testkit.realservers import prometheus
from tests.exporter.exporter_process import exporter_process

# Targets whose key variable is unset stay idle: declared (with their info series), never
# probed, so nothing leaves the machine. A path, upper case and an explicit default port do not
# make another endpoint; the provider's default URL is one when base_url is left out.
IDLE_TARGETS = """
  - {name: groq-path, provider: openai, base_url: "https://API.Groq.com/openai/v1",
     model: llama-3.1-8b, api_key_env: LLMSCOPE_TEST_UNSET_KEY}
  - {name: groq-port, provider: openai, base_url: "https://api.groq.com:443/openai/v1",
     model: llama-3.3-70b, api_key_env: LLMSCOPE_TEST_UNSET_KEY}
  - {name: v6, provider: openai, base_url: "http://[::1]:8000/v1", model: m,
     api_key_env: LLMSCOPE_TEST_UNSET_KEY}
  - {name: anthropic-default, provider: anthropic, model: claude-3-5-haiku-latest,
     api_key_env: LLMSCOPE_TEST_UNSET_KEY}
"""


def _endpoint(labels: dict[str, str]) -> tuple[str, str, str | None]:
    """endpoint, server_address and server_port (None: Prometheus drops empty labels)."""
    return labels["endpoint"], labels["server_address"], labels.get("server_port")


def test_prometheus_scrapes_probe_histograms_and_each_targets_endpoint(tmp_path: Path) -> None:
    with serving_in_thread(always(stream_script(["1", " 2", " 3"], ttft=0.05, gap=0.01))) as fake:
        config = tmp_path / "llmscope.yml"
        config.write_text(f"""
targets:
  - name: fake-openai
    provider: openai
    base_url: {fake.url}/v1
    model: gpt-4o-mini
    api_key_env: FAKE_OPENAI_API_KEY
    interval: 500ms
  - name: sim
    provider: simulated
    model: sim-1
    seed: 1
    ttft: 20ms
    gap: 2ms
    max_tokens: 4
    interval: 500ms
{IDLE_TARGETS}""")
        env = {"FAKE_OPENAI_API_KEY": "sk-integration-canary"}
        args = ("--vantage=eu-west-1",)
        with exporter_process(config, tmp_path, env, args) as exporter:
            host = exporter.url.removeprefix("http://")
            prom_config = f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: llmscope
    static_configs: [{{targets: ["{host}"]}}]
"""
            with prometheus(prom_config) as prom:
                deadline = time.monotonic() + 30
                up: list[dict[str, Any]] = []
                counts: list[dict[str, Any]] = []
                while time.monotonic() < deadline:
                    up = prom.query('up{job="llmscope"}')
                    counts = prom.query(
                        "sum by (target) "
                        "(gen_ai_client_operation_time_to_first_chunk_seconds_count)"
                    )
                    if (
                        up
                        and len(counts) == 2
                        and all(float(str(c["value"][1])) > 0 for c in counts)
                    ):
                        break
                    time.sleep(0.5)
                assert up and up[0]["value"][1] == "1"
                assert {c["metric"]["target"] for c in counts} == {
                    "fake-openai",
                    "sim",
                }
                # The fake server scripts a 50 ms first chunk: no observation can sit at or
                # below the 40 ms bucket, and (allowing for scheduling noise) all of them
                # fall at or below 250 ms.
                buckets = {
                    b["metric"]["le"]: float(b["value"][1])
                    for b in prom.query(
                        "gen_ai_client_operation_time_to_first_chunk_seconds_bucket"
                        '{target="fake-openai"}'
                    )
                }
                assert buckets["0.04"] == 0
                assert buckets["0.25"] == buckets["+Inf"] > 0
                info = {
                    r["metric"]["target"]: r["metric"] for r in prom.query("llmscope_target_info")
                }
                port = str(fake.port)
                assert {t: _endpoint(m) for t, m in info.items()} == {
                    "fake-openai": (f"http://127.0.0.1:{port}", "127.0.0.1", port),
                    "sim": ("simulated://sim", "sim", None),
                    "groq-path": ("https://api.groq.com:443", "api.groq.com", "443"),
                    "groq-port": ("https://api.groq.com:443", "api.groq.com", "443"),
                    "v6": ("http://[::1]:8000", "::1", "8000"),
                    "anthropic-default": (
                        "https://api.anthropic.com:443",
                        "api.anthropic.com",
                        "443",
                    ),
                }
                assert {m["vantage"] for m in info.values()} == {"eu-west-1"}
                assert info["groq-port"]["provider"] == "openai"
                assert info["groq-port"]["model"] == "llama-3.3-70b"
                # The endpoint is on the info metric only: the request histograms keep their
                # label set, plus the vantage.
                series = prom.query(
                    "gen_ai_client_operation_time_to_first_chunk_seconds_count"
                    '{target="fake-openai"}'
                )
                assert set(series[0]["metric"]) == {
                    "__name__",
                    "instance",
                    "job",
                    "target",
                    "gen_ai_provider_name",
                    "gen_ai_request_model",
                    "gen_ai_operation_name",
                    "workload",
                    "vantage",
                }
            assert "sk-integration-canary" not in exporter.metrics()
            assert "sk-integration-canary" not in exporter.log()
        assert fake.requests[0].headers["authorization"] == "Bearer sk-integration-canary"
