"""Ollama's digest look-up (``GET /api/tags``) is asked only when the answer can have
changed, not once per probe: a local server that may be busy gets one request per probe."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from exporter.app import Exporter
from exporter.configfile import load_text
from exporter.probing.harness import ProbeResult, run_probe
from exporter.providers.ollama import TAGS_REFRESH, OllamaProvider
from exporter.providers.protocol import ProbeContext, Recall
from exporter.transport.client import ProbeClient
from testkit.fakeserver import FakeRequest, Script, serving
from testkit.wire import Plan, json_error, ollama_script, ollama_tags
from tests.providers.support import target

PROVIDER = OllamaProvider()
DIGEST_A, DIGEST_B = "a" * 64, "b" * 64


@dataclass
class FakeOllama:
    """``/api/chat`` streams as ``model`` (or 404s while ``missing``); ``/api/tags`` lists
    both models with ``digest``."""

    model: str = "llama3.2:latest"
    digest: str = DIGEST_A
    missing: bool = False
    tags: list[FakeRequest] = field(default_factory=list)

    def route(self, request: FakeRequest) -> Script:
        if request.path == "/api/tags":
            self.tags.append(request)
            return ollama_tags("llama3.2:latest", "qwen3:0.6b", digest=self.digest)
        if self.missing:
            return json_error(404, {"error": f"model '{self.model}' not found"})
        return ollama_script(Plan(), model=self.model)


def test_the_digest_is_looked_up_only_when_it_can_have_changed() -> None:
    server_state = FakeOllama()
    now = [1000.0]
    recall = Recall()

    async def go() -> list[tuple[ProbeResult, int]]:
        out = []
        async with serving(server_state.route) as server:
            client = ProbeClient(environ={})
            made = target("ollama", server.url, "llama3.2:latest", interval=15.0)

            async def one() -> None:
                ctx = ProbeContext(
                    client=client, target=made, prompt="p", clock=lambda: now[0], recall=recall
                )
                result = await run_probe(PROVIDER, ctx)
                out.append((result, len(server_state.tags)))
                now[0] += 15.0

            for _ in range(4):  # the first probe looks it up, the next three reuse it
                await one()
            server_state.digest = DIGEST_B  # a pull under the same tag...
            await one()  # ...is not seen yet,
            now[0] += TAGS_REFRESH  # but within TAGS_REFRESH
            await one()
            server_state.missing = True  # the model went away: the probe fails
            await one()
            server_state.missing = False
            await one()  # after a failure the look-up is asked again
            server_state.model = "qwen3:0.6b"  # another model answers under the target
            await one()
            await one()
            client.close()
        return out

    results = asyncio.run(go())
    looked_up = [count for _, count in results]
    assert looked_up == [1, 1, 1, 1, 1, 2, 2, 3, 4, 4]
    digests = [r.served.digest for r, _ in results]
    assert digests[:5] == [DIGEST_A] * 5 and digests[5] == DIGEST_B
    assert results[6][0].reason == "client_error"
    assert digests[7:] == [DIGEST_B] * 3
    assert results[8][0].served.model == "qwen3:0.6b"


def test_the_exporter_asks_for_tags_once_over_many_probes() -> None:
    server_state = FakeOllama()
    registry = CollectorRegistry()

    def probes() -> float:
        return registry.get_sample_value("llmscope_probes_total", {"target": "local"}) or 0.0

    async def go() -> None:
        async with serving(server_state.route) as server:
            text = (
                "targets:\n  - {name: local, provider: ollama, model: 'llama3.2:latest', "
                f"base_url: '{server.url}', interval: 50ms}}\n"
            )
            exporter = Exporter(lambda: load_text(text, "o.yml", {}), registry, environ={})
            await exporter.start()
            for _ in range(400):
                if probes() >= 6:
                    break
                await asyncio.sleep(0.01)
            await exporter.stop()

    asyncio.run(go())
    assert probes() >= 6
    assert len(server_state.tags) == 1
    info = registry.get_sample_value(
        "llmscope_model_info",
        {
            "target": "local",
            "response_model": "llama3.2:latest",
            "model_version": "",
            "system_fingerprint": "",
            "model_digest": DIGEST_A,
        },
    )
    assert info == 1.0
