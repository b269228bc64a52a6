"""Issue 23, "Done when": a real Prometheus holding three hours of vLLM (two models, two
replicas each), SGLang, TGI and LiteLLM traffic, named, labelled and bucketed as their sources
define them; the sidecar started with no --config.file finds them all. Every engine's series
has limits on at least two charts, a 2x slowdown of one vLLM model over the last 10 minutes
pages for that model, and no other series pages."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from testkit.backends import backfilled_prometheus
from testkit.engine_traffic import Process, Workload
from testkit.engines import openmetrics
from testkit.realservers import free_port, http_get
from tests.sidecar.expected import parse
from tests.sidecar.process import sidecar_process

SCRAPE = 15.0
HOURS = 3
SLOW_FOR = 600.0  # the slowdown: the last 10 minutes
SLOW_MODEL = "llama-3-8b"
# job, instance and the engine's own labels of every process
PROCESSES = [
    ("vllm", "10.0.0.1:8000", {"model_name": SLOW_MODEL, "engine": "0"}),
    ("vllm", "10.0.0.2:8000", {"model_name": SLOW_MODEL, "engine": "0"}),
    ("vllm", "10.0.0.3:8000", {"model_name": "mistral-7b", "engine": "0"}),
    ("vllm", "10.0.0.4:8000", {"model_name": "mistral-7b", "engine": "0"}),
    ("sglang", "10.0.1.1:30000", {"model_name": "qwen-7b", "engine_type": "unified"}),
    ("tgi", "10.0.2.1:3000", {}),
    ("litellm", "10.0.3.1:4000", {"requested_model": "gpt-4o"}),
]
# engine -> the chart series label every one of its charts carries
SERIES = {
    "vllm": {f"model_name={SLOW_MODEL}", "model_name=mistral-7b"},
    "sglang": {"model_name=qwen-7b"},
    "tgi": {"job=tgi,instance=10.0.2.1:3000"},
    "litellm": {"requested_model=gpt-4o"},
}


def _estate(end: float) -> str:
    rng = np.random.default_rng(2323)
    times = end - SCRAPE * np.arange(HOURS * 3600 / SCRAPE)[::-1]
    scrapes: dict[str, list[tuple[float, list[tuple[str, str, float]]]]] = {}
    for i, (engine, instance, labels) in enumerate(PROCESSES):
        process = Process(engine, labels, rng, Workload(rate=2.0))
        target = {"job": engine, "instance": instance}
        rows = scrapes.setdefault(f"{engine}/{instance}", [])
        # Prometheus scrapes each target at its own offset within the interval.
        for ts in (times - 2.1 * i).tolist():
            slow = labels.get("model_name") == SLOW_MODEL and ts > end - SLOW_FOR
            process.slow = 2.0 if slow else 1.0
            # A day's rhythm: the request rate drifts by a third over the three hours.
            process.work = Workload(rate=2.0 * (1.0 + 0.3 * np.sin(ts / 5000.0)))
            process.run(SCRAPE)
            rows.append((ts, _with_target(process.metrics.samples(), target)))
    return openmetrics(scrapes)


def _with_target(
    samples: list[tuple[str, str, float]], target: dict[str, str]
) -> list[tuple[str, str, float]]:
    """What Prometheus stores for a scrape: the target's job and instance added."""
    extra = ",".join(f'{k}="{v}"' for k, v in target.items())
    out = []
    for family, sample, value in samples:
        name, brace, rest = sample.partition("{")
        stored = f"{name}{{{extra},{rest}" if brace else f"{name}{{{extra}}}"
        out.append((family, stored, value))
    return out


def test_presets_chart_the_estate_and_page_only_the_slowed_model(tmp_path: Path) -> None:
    end = float(int(time.time()) // 15 * 15 - 15)
    with (
        backfilled_prometheus(_estate(end)) as prom,
        sidecar_process(None, prom.url, free_port(), tmp_path / "spc.log") as url,
    ):
        # The first cycle designs every series' paging detectors: a minute or more on a busy
        # machine (docs/benchmarks.md, "Engine presets").
        deadline = time.monotonic() + 300
        while True:
            got = parse(http_get(f"{url}/metrics").decode())
            pages = {
                (dict(k[1])["chart"], dict(k[1])["series"]): v
                for k, v in got.items()
                if k[0] == "llmscope_spc_alarm_active" and dict(k[1])["severity"] == "page"
            }
            charts = {dict(k[1])["chart"] for k in got if k[0] == "llmscope_spc_chart_info"}
            ready = charts and all(
                got.get(("llmscope_spc_chart_up", frozenset({("chart", c)}))) == 1.0 for c in charts
            )
            if (ready and pages) or time.monotonic() > deadline:
                break
            time.sleep(1.0)
    limits: dict[str, dict[str, set[str]]] = {}
    for key, value in got.items():
        if key[0] == "llmscope_spc_limits_available" and value == 1.0:
            labels = dict(key[1])
            engine = labels["chart"].split("_", 1)[0]
            # LiteLLM's deployment metrics name the requested model group model_group.
            labels["series"] = labels["series"].replace("model_group=", "requested_model=")
            limits.setdefault(engine, {}).setdefault(labels["series"], set()).add(labels["chart"])
    for engine, series in SERIES.items():
        for s in series:
            assert len(limits.get(engine, {}).get(s, set())) >= 2, (engine, s, limits.get(engine))
    paging = {k for k, v in pages.items() if v == 1.0}
    assert paging, "the slowed model does not page"
    assert {s for _, s in paging} == {f"model_name={SLOW_MODEL}"}, paging
    assert ("vllm_e2e_latency", f"model_name={SLOW_MODEL}") in paging
    started = [
        v
        for k, v in got.items()
        if k[0] == "llmscope_spc_alarm_started_timestamp_seconds"
        and dict(k[1])["severity"] == "page"
    ]
    assert started and all(v > end - SLOW_FOR for v in started), started
