"""Label values come from the config, never from responses; the vantage is one value per
exporter and the endpoint lives on the info metric alone."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.app import Exporter
from exporter.configfile import load_text
from exporter.metrics.vantage import VantageRegistry
from testkit.fakeserver import FakeRequest, Script, Step, serving
from testkit.openai_fake import error_script, stream_script


def test_server_model_names_and_error_text_never_become_labels() -> None:
    served = 0

    def route(request: FakeRequest) -> Script:
        nonlocal served
        served += 1
        if served % 2:
            script = stream_script(["a", "b"])
            # The server names its own model in every chunk.
            script.steps = [
                Step(s.data.replace(b"gpt-4o-mini-2024-07-18", b"SERVER-MODEL-ZZZ"), s.delay)
                for s in script.steps
            ]
            return script
        return error_script(500, f"ERROR-TEXT-{served}", kind=f"KIND-{served}")

    registry = VantageRegistry("eu-west-1")

    async def go() -> None:
        async with serving(route) as server:
            config = load_text(
                f"targets: [{{name: t, provider: openai, base_url: '{server.url}/v1', "
                "model: configured-model, interval: 50ms}]\n",
                "t.yml",
                {},
            )
            exporter = Exporter(lambda: config, registry, environ={})
            await exporter.start()
            deadline = time.monotonic() + 10
            while served < 8 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await exporter.stop()

    asyncio.run(go())
    text = generate_latest(registry).decode()
    assert 'gen_ai_request_model="configured-model"' in text
    # What the server says it is appears once, as the target's current identity (issue of
    # silent model swaps); nowhere else, and never as one series per value seen.
    reported = [line for line in text.splitlines() if "SERVER-MODEL" in line]
    assert len(reported) == 1 and reported[0].startswith("llmscope_model_info{"), reported
    assert "ERROR-TEXT" not in text and "KIND-" not in text
    failures = registry.get_sample_value(
        "llmscope_probe_errors_total",
        {"target": "t", "reason": "server_error", "vantage": "eu-west-1"},
    )
    assert failures is not None and failures >= 3
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    assert {s.labels.get("vantage") for s in samples} == {"eu-west-1"}
    # The endpoint is per target: on the info series, not one more label on every histogram.
    with_endpoint = {
        s.name for s in samples if {"endpoint", "server_address", "server_port"} & set(s.labels)
    }
    assert with_endpoint == {"llmscope_target_info"}
