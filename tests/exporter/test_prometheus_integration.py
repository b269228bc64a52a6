"""The exporter scraped by a real Prometheus: ``up`` and a histogram read back via the API."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from testkit.fakeserver import serving_in_thread
from testkit.openai_fake import always, stream_script
from testkit.realservers import prometheus
from tests.exporter.exporter_process import exporter_process


def test_prometheus_scrapes_probe_histograms(tmp_path: Path) -> None:
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
""")
        env = {"FAKE_OPENAI_API_KEY": "sk-integration-canary"}
        with exporter_process(config, tmp_path, env) as exporter:
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
            assert "sk-integration-canary" not in exporter.metrics()
            assert "sk-integration-canary" not in exporter.log()
        assert fake.requests[0].headers["authorization"] == "Bearer sk-integration-canary"
