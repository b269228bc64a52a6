"""Model identity end to end on scripted data: a simulated target whose model is swapped is
counted once and exported with its new identity; a steady one never counts a change."""

from __future__ import annotations

import asyncio
import textwrap

from prometheus_client import CollectorRegistry, generate_latest

from exporter.config.types import TargetConfig
from exporter.configfile import load_text
from exporter.metrics.identity import MAX_VALUE, ModelIdentity
from exporter.probing.harness import ProbeResult, run_probe
from exporter.providers.protocol import ProbeContext, ServedBy
from exporter.providers.simulated import SimulatedProvider
from exporter.transport.client import ProbeClient

CONFIG = """\
targets:
  - name: swapped
    provider: simulated
    model: sim-1
    ttft: 1ms
    gap: 1ms
    max_tokens: 3
    reasoning_chunks: 2
    scenario: {kind: model_swap, after_probes: 3, model: sim-2-quantized}
  - name: steady
    provider: simulated
    model: sim-1
    ttft: 1ms
    gap: 1ms
    max_tokens: 3
"""


def run(target: TargetConfig, provider: SimulatedProvider, probes: int) -> list[ProbeResult]:
    async def go() -> list[ProbeResult]:
        client = ProbeClient(environ={})
        return [
            await run_probe(provider, ProbeContext(client=client, target=target, prompt="p"))
            for _ in range(probes)
        ]

    return asyncio.run(go())


def test_a_swapped_model_is_one_change_and_the_info_shows_only_the_new_model() -> None:
    swapped, steady = load_text(textwrap.dedent(CONFIG), "m.yml", {}).targets
    provider, identity = SimulatedProvider(), ModelIdentity()
    identity.declare(["swapped", "steady"])
    changed = []
    for target in (swapped, steady):
        for result in run(target, provider, 6):
            assert result.success, result.message
            changed.append((target.name, identity.observe(target.name, result.served)))
    assert changed == [("swapped", i == 3) for i in range(6)] + [("steady", False)] * 6
    registry = CollectorRegistry()
    registry.register(identity)
    text = generate_latest(registry).decode()
    assert 'llmscope_model_changes_total{target="swapped"} 1.0' in text
    assert 'llmscope_model_changes_total{target="steady"} 0.0' in text
    info = sorted(line for line in text.splitlines() if line.startswith("llmscope_model_info{"))
    assert len(info) == 2  # bounded: the current identity per target, never the old one
    assert 'response_model="sim-2-quantized"' in info[1] and 'target="swapped"' in info[1]
    assert 'response_model="sim-1"' in info[0] and 'target="steady"' in info[0]


def test_simulated_thinking_streams_reasoning_before_the_answer() -> None:
    swapped, _ = load_text(textwrap.dedent(CONFIG), "m.yml", {}).targets
    (result,) = run(swapped, SimulatedProvider(), 1)
    assert result.time_to_first_reasoning is not None and result.time_to_first_answer is not None
    assert result.time_to_first_reasoning < result.time_to_first_answer
    assert (result.reasoning_tokens, result.output_tokens, result.answer_tokens) == (2, 5, 3)
    assert result.answer_text == "1 2 3"
    assert result.served == ServedBy(model="sim-1")


def test_missing_fields_are_not_changes_and_response_values_are_bounded() -> None:
    identity = ModelIdentity()
    identity.declare(["t"])
    assert not identity.observe("t", ServedBy(model="gpt-4o", fingerprint="fp_1"))
    assert not identity.observe("t", ServedBy(model="gpt-4o"))  # fingerprint left out
    assert not identity.observe("t", ServedBy())  # a failed probe reports nothing
    assert identity.observe("t", ServedBy(model="gpt-4o", fingerprint="fp_2"))
    assert not identity.observe("unknown-target", ServedBy(model="x"))
    identity.observe("t", ServedBy(model="m" * 1000))
    text = generate_latest(_registry(identity)).decode()
    assert f'response_model="{"m" * MAX_VALUE}"' in text and "m" * (MAX_VALUE + 1) not in text
    assert 'llmscope_model_changes_total{target="t"} 2.0' in text
    identity.declare([])  # a reload that removes the target removes its series
    assert "target=" not in generate_latest(_registry(identity)).decode()


def _registry(identity: ModelIdentity) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(identity)
    return registry
