"""Workload profiles: the config keys, the prompts they generate, and the request they send."""

from __future__ import annotations

import json
import textwrap

import pytest

from exporter.config.types import PRESETS, TargetConfig, Workload
from exporter.configfile import load_text
from exporter.probing.harness import estimate_tokens
from exporter.probing.workload import (
    answer_instruction,
    estimate_filler_tokens,
    filler,
    probe_prompt,
)
from exporter.providers.openai import OpenAIOptions, OpenAIProvider
from servicekit.errors import ConfigError


def targets(workloads: str) -> tuple[TargetConfig, ...]:
    text = "targets:\n" + textwrap.indent(textwrap.dedent(workloads), "  ")
    return load_text(text, "w.yml", {}).targets


def errors_of(workloads: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        targets(workloads)
    return str(info.value).splitlines()


def test_presets_match_the_leaderboard_sizes_and_set_max_tokens() -> None:
    tiny, short, medium, long, default = targets("""\
        - {name: a, provider: simulated, model: m, workload: tiny}
        - {name: b, provider: simulated, model: m, workload: short}
        - {name: c, provider: simulated, model: m, workload: medium}
        - {name: d, provider: simulated, model: m, workload: long}
        - {name: e, provider: simulated, model: m, max_tokens: 7}
        """)
    assert tiny.workload == default.workload == Workload()
    assert (tiny.max_tokens, default.max_tokens) == (32, 7)
    sizes = [(t.workload.input_tokens, t.workload.output_tokens) for t in (short, medium, long)]
    assert sizes == [(100, 300), (1000, 1000), (10000, 1500)]
    assert [t.max_tokens for t in (short, medium, long)] == [300, 1000, 1500]
    assert [t.workload.name for t in (short, medium, long)] == ["short", "medium", "long"]


def test_sizes_and_warm_cache_name_the_workload_label() -> None:
    custom, warm_preset, warm_custom = targets("""\
        - name: a
          provider: simulated
          model: m
          workload: {input_tokens: 1000, output_tokens: 300}
        - {name: b, provider: simulated, model: m, workload: {preset: long, cache: warm}}
        - name: c
          provider: simulated
          model: m
          workload: {input_tokens: 2048, output_tokens: 16, cache: warm}
        """)
    assert custom.workload == Workload("1000x300", 1000, 300, "cold")
    assert custom.max_tokens == 300
    assert warm_preset.workload == Workload("long-warm", 10000, 1500, "warm")
    assert warm_custom.workload.name == "2048x16-warm"


def test_workload_mistakes_are_reported_each_with_its_line() -> None:
    assert errors_of("""\
        - {name: a, provider: simulated, model: m, workload: huge}
        - {name: b, provider: simulated, model: m, workload: {input_tokens: 1000}}
        - {name: c, provider: simulated, model: m, workload: {preset: short, cache: warm}}
        - {name: d, provider: simulated, model: m, workload: medium, max_tokens: 5}
        - {name: e, provider: simulated, model: m, workload: {preset: short, input_tokens: 9}}
        - {name: f, provider: simulated, model: m, workload: {preset: tiny, cache: cold}}
        - {name: g, provider: simulated, model: m, workload: {input_tokens: 1, output_tokens: 1}}
        """) == [
        'w.yml:2: targets[0].workload: unknown workload "huge" (known: long, medium, short, tiny)',
        "w.yml:3: targets[1].workload.output_tokens: required (or name a preset)",
        "w.yml:4: targets[2].workload.cache: warm needs input_tokens of at least 1024: "
        "providers cache no shorter prompt",
        "w.yml:5: targets[3].max_tokens: leave it out: the workload's output_tokens sets "
        "max_tokens",
        "w.yml:6: targets[4].workload.input_tokens: give either preset or token sizes, not both",
        "w.yml:7: targets[5].workload.cache: the tiny workload sends the prompt as it is: it "
        "has no cache setting",
        "w.yml:8: targets[6].workload.input_tokens: must be at least 16, got 1",
    ]


def estimated_tokens(prompt: str, workload: Workload) -> int:
    """The generator's own count: the instruction line by characters, the filler by words."""
    head, _, body = prompt.partition("\n\n")
    return estimate_tokens(len(head)) + estimate_filler_tokens(body)


def test_a_1k_prompt_has_the_requested_size_and_differs_on_every_probe() -> None:
    (target,) = targets("- {name: a, provider: simulated, model: m, workload: medium}\n")
    prompts = [probe_prompt(target) for _ in range(20)]
    assert len(set(prompts)) == 20
    for prompt in prompts:
        assert estimated_tokens(prompt, target.workload) == pytest.approx(1000, abs=15)
        # Unique from the first characters on: no provider cache can serve a prefix of it.
        assert prompt.startswith("(probe ")
        assert answer_instruction(target.workload) in prompt
    bodies = [p.partition("\n\n")[2] for p in prompts]
    assert len({b[:200] for b in bodies}) == 20  # the filler itself differs, not only the nonce


def test_filler_is_counted_one_token_per_word_and_full_stop() -> None:
    import random

    for tokens in (16, 100, 1000, 9977):
        text = filler(tokens, random.Random(tokens))
        assert estimate_filler_tokens(text) == pytest.approx(tokens, abs=1)
        # Rough cross-check with the four-characters rule: the words are short and common.
        assert 0.8 * tokens <= len(text) / 4 <= 1.6 * tokens


def test_warm_cache_repeats_a_fixed_prefix_and_only_the_tail_changes() -> None:
    (target,) = targets(
        "- {name: w, provider: simulated, model: m, workload: {preset: long, cache: warm}}\n"
    )
    first, second = probe_prompt(target), probe_prompt(target)
    prefix, _, tail = first.rpartition("\n\n")
    assert first != second and second.startswith(prefix + "\n\n")
    assert len(prefix) > 0.95 * len(first)
    assert tail.startswith("(probe ") and "1500 words" in tail
    assert estimated_tokens(tail + "\n\n" + prefix, target.workload) == pytest.approx(10000, abs=50)


def test_tiny_keeps_the_configured_prompt_with_a_nonce() -> None:
    target = TargetConfig(name="t", provider="simulated", model="m", prompt="Say hi.")
    prompt = probe_prompt(target, nonce="abc")
    assert prompt == "Say hi.\n(probe abc)"


def test_the_request_carries_the_prompt_and_max_tokens_bounds_the_output() -> None:
    target = TargetConfig(
        name="o",
        provider="openai",
        model="gpt-4o-mini",
        base_url="https://api.openai.com/v1",
        workload=PRESETS["medium"],
        max_tokens=1000,
        options=OpenAIOptions(),
    )
    prompt = probe_prompt(target)
    call = OpenAIProvider().build_call(target, prompt, "k")
    body = json.loads(call.body)
    assert body["messages"] == [{"role": "user", "content": prompt}]
    assert body["max_tokens"] == 1000


def test_prompt_generation_is_reproducible_for_a_given_nonce() -> None:
    (target,) = targets("- {name: a, provider: simulated, model: m, workload: short}\n")
    assert probe_prompt(target, "n1") == probe_prompt(target, "n1")
    assert probe_prompt(target, "n1") != probe_prompt(target, "n2")
    assert "\r" not in probe_prompt(target, "n1")
