"""The whole stack as real processes on 127.0.0.1: exporter, Prometheus with the project's
rules, and the SPC sidecar, as compose.yaml wires them (same job names).

The exporter probes fake OpenAI and Ollama servers and simulated targets every 200-500 ms,
configured so that every kind of data a dashboard shows appears within seconds: errors,
skipped probes, a spent budget, an idle target, rate-limit headers, network phases,
server-reported timings, prices. The sidecar pins its limits far below the real latency,
so Nelson rules fire at once and the violation panels have data too.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from testkit.engine_http import ServedEngines
from testkit.engine_traffic import Process, Workload
from testkit.fakeserver import FakeRequest, Script, serving_in_thread
from testkit.openai_fake import stream_script
from testkit.realservers import Prometheus, free_port, prometheus
from testkit.wire import Plan, ollama_script, ollama_tags
from tests.exporter.exporter_process import ExporterProcess, exporter_process
from tests.sidecar.process import sidecar_process
from tests.stack.dashboards import ROOT

CHART = "duration"
RATE_LIMITS = {"x-ratelimit-remaining-requests": "499", "x-ratelimit-remaining-tokens": "199000"}

EXPORTER_CONFIG = """
targets:
  - name: sim-priced          # cost, a USD budget, GPU energy where a GPU exists
    provider: simulated
    model: sim-1
    seed: 1
    ttft: 40ms
    gap: 5ms
    max_tokens: 8
    interval: 300ms
    pricing: {{input: 1.0, output: 2.0}}
    budget: {{daily_usd: 100}}
    gpu: all
  - name: sim-flaky           # failed probes by reason
    provider: simulated
    model: sim-2
    seed: 2
    ttft: 30ms
    gap: 5ms
    max_tokens: 4
    interval: 200ms
    error_rate: 0.4
  - name: sim-slow            # probes outlast the interval: skipped probes
    provider: simulated
    model: sim-3
    seed: 3
    ttft: 450ms
    ttft_spread: 0.05
    max_tokens: 2
    interval: 200ms
  - name: sim-paused          # the first probe spends the token budget: paused
    provider: simulated
    model: sim-4
    seed: 4
    ttft: 20ms
    max_tokens: 2
    interval: 250ms
    budget: {{daily_tokens: 1}}
  - name: sim-thinking        # reasoning first; a silent model swap once Prometheus watches
    provider: simulated
    model: sim-5
    seed: 5
    ttft: 30ms
    gap: 5ms
    max_tokens: 4
    reasoning_chunks: 3
    interval: 300ms
    scenario: {{kind: model_swap, after_probes: 30, model: sim-5-requantized}}
  - name: fake-openai         # rate-limit headers, network phases, a shipped price
    provider: openai
    base_url: {fake}/v1
    model: gpt-4o-mini
    api_key_env: STACK_TEST_OPENAI_KEY
    interval: 400ms
  - name: fake-ollama         # server-reported timings
    provider: ollama
    base_url: {fake}
    model: llama3.2
    interval: 500ms
  - name: no-key              # idle: its key variable is unset
    provider: openai
    base_url: {fake}/v1
    model: gpt-4o-mini
    api_key_env: STACK_TEST_UNSET_KEY
"""

# The serving engines of ENGINES (scraped as job "engines") get their preset charts, with
# 5-second failure subgroups so the p charts have points within the test.
_FAILURES = ("vllm/aborts", "sglang/aborts", "tgi/failures", "litellm/failures")
SPC_CONFIG = f"""
global: {{interval: 1s, evaluation: 10m, hold: 10m, min_points: 2, presets_refresh: 2s}}
presets: auto
charts:
  - name: {CHART}
    metric: gen_ai_client_operation_duration_seconds
    selector: '{{error_type=""}}'
    by: [target]
    baseline: {{center: 5ms, sigma: 0.2}}
    usl: 2s
    lsl: 1ms
    ewma: true
    cusum: true
  # The error-rate p chart of the SPC dashboard, in 2 s subgroups: sim-flaky fails 40%.
  - name: probe_errors
    kind: p
    numerator: 'gen_ai_client_operation_duration_seconds_count{{error_type!=""}}'
    denominator: gen_ai_client_operation_duration_seconds_count
    by: [target]
    subgroup: 2s
""" + "".join(f"  - {{preset: {ref}, subgroup: 5s}}\n" for ref in _FAILURES)

PROMETHEUS_CONFIG = """
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["rules-*.yml"]
scrape_configs:
  - job_name: llmscope-exporter
    static_configs: [{{targets: ["{exporter}"]}}]
  - job_name: llmscope-spc
    static_configs: [{{targets: ["{sidecar}"]}}]
  - job_name: engines
    static_configs: [{{targets: [{engines}]}}]
"""
# Serving engines as their /metrics read (testkit/engines.py), for the serving rows.
ENGINES = {
    "vllm": {"model_name": "llama-3-8b", "engine": "0"},
    "sglang": {"model_name": "qwen-7b", "engine_type": "unified"},
    "tgi": {},
    "litellm": {"requested_model": "gpt-4o"},
    "trtllm": {"model_name": "mistral-7b", "engine_type": "trtllm"},
}


@dataclass(frozen=True)
class Stack:
    prometheus: Prometheus
    exporter: ExporterProcess
    sidecar_url: str


def _route(request: FakeRequest) -> Script:
    if request.path.startswith("/api/tags"):
        return ollama_tags("llama3.2")
    if request.path.startswith("/api/"):
        return ollama_script(Plan(ttft=0.02, gap=0.005))
    script = stream_script(["1", " 2", " 3"], ttft=0.03, gap=0.005)
    return dataclasses.replace(script, headers={**script.headers, **RATE_LIMITS})


def _rules() -> dict[str, str]:
    return {
        f"rules-{path.name}": path.read_text()
        for path in sorted((ROOT / "prometheus" / "rules").glob("*.yml"))
    }


@contextlib.contextmanager
def spc_sidecar(tmp: Path, prometheus_url: str, port: int) -> Iterator[str]:
    config = tmp / "spc.yml"
    config.write_text(SPC_CONFIG)
    with sidecar_process(config, prometheus_url, port, tmp / "sidecar.log") as url:
        yield url


@contextlib.contextmanager
def live_stack(tmp: Path) -> Iterator[Stack]:
    rng = np.random.default_rng(7)
    work = Workload(rate=20.0, failure=0.05)
    engines = ServedEngines([Process(e, labels, rng, work) for e, labels in ENGINES.items()])
    with serving_in_thread(_route) as fake, engines:
        config = tmp / "llmscope.yml"
        config.write_text(EXPORTER_CONFIG.format(fake=fake.url))
        env = {"STACK_TEST_OPENAI_KEY": "sk-stack-test"}
        sidecar_port = free_port()
        # Its budgets are there to be spent (a paused target): start despite the estimate.
        with exporter_process(config, tmp, env, ("--budget.ignore-estimate",)) as exporter:
            prom_config = PROMETHEUS_CONFIG.format(
                exporter=exporter.url.removeprefix("http://"),
                sidecar=f"127.0.0.1:{sidecar_port}",
                engines=", ".join(f'"{t}"' for t in engines.targets),
            )
            with (
                prometheus(prom_config, rules=_rules()) as prom,
                spc_sidecar(tmp, prom.url, sidecar_port) as sidecar_url,
            ):
                yield Stack(prom, exporter, sidecar_url)
