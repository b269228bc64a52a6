"""The engine fixtures speak the engines' wire format: prometheus_client's exposition for the
Python engines, byte for byte, and names, labels and buckets as their sources define them."""

from __future__ import annotations

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from testkit.engine_families import ENGINES, TGI_DURATION, VLLM_REQUEST
from testkit.engine_traffic import Process
from testkit.engines import Exposition, openmetrics


def _without_created(text: str) -> list[str]:
    return [line for line in text.splitlines() if "_created" not in line]


def test_vllm_exposition_is_what_prometheus_client_writes_for_vllms_families() -> None:
    """The same families and observations through prometheus_client itself (what vLLM uses)."""
    registry = CollectorRegistry()
    labels = {"model_name": "llama", "engine": "0"}
    ours = Exposition("vllm")
    theirs: dict[str, Histogram | Counter] = {}
    for family in ENGINES["vllm"]:
        if family.kind == "histogram":
            theirs[family.name] = Histogram(
                family.name, family.help, family.labels, registry=registry, buckets=family.buckets
            )
        else:
            theirs[family.name] = Counter(
                family.name, family.help, family.labels, registry=registry
            )
    values = np.random.default_rng(5).lognormal(0.0, 1.0, 50)
    for family in ENGINES["vllm"]:
        if family.kind == "histogram":
            ours.observe(family.name, labels, values)
            for v in values.tolist():
                theirs[family.name].labels(**labels).observe(v)  # type: ignore[union-attr]
    for reason, n in (("stop", 40), ("abort", 2)):
        ours.add("vllm:request_success", {**labels, "finished_reason": reason}, n)
        theirs["vllm:request_success"].labels(**labels, finished_reason=reason).inc(n)  # type: ignore[union-attr]
    assert _without_created(ours.text()) == _without_created(generate_latest(registry).decode())


def test_every_engine_exposes_its_source_names_and_buckets() -> None:
    rng = np.random.default_rng(1)
    seen: dict[str, set[str]] = {}
    for engine, labels in (
        ("vllm", {"model_name": "m", "engine": "0"}),
        ("sglang", {"model_name": "m", "engine_type": "unified"}),
        ("tgi", {}),
        ("litellm", {"requested_model": "gpt-4o"}),
        ("trtllm", {"model_name": "m", "engine_type": "trtllm"}),
    ):
        process = Process(engine, labels, rng)
        process.run(30.0)
        text = process.metrics.text()
        # The names as written (prometheus_client's parser would add _total to TGI's counters).
        seen[engine] = {
            line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"
        }
        assert list(text_string_to_metric_families(text))  # and it parses
    assert {"vllm:e2e_request_latency_seconds_sum", "vllm:request_success_total"} <= seen["vllm"]
    assert "sglang:num_aborted_requests_total" in seen["sglang"]
    # metrics-exporter-prometheus keeps a counter's own name: no _total on TGI's counters.
    assert {"tgi_request_success", "tgi_request_failure", "tgi_request_count"} <= seen["tgi"]
    assert not any(name.endswith("_total") for name in seen["tgi"])
    assert "litellm_proxy_failed_requests_metric_total" in seen["litellm"]
    assert "trtllm_e2e_request_latency_seconds_count" in seen["trtllm"]
    assert len(TGI_DURATION) == 35 and abs(TGI_DURATION[-1] - 0.0001 * 1.5**35) < 1e-9
    assert VLLM_REQUEST[0] == 0.3 and VLLM_REQUEST[-1] == 7680.0


def test_sglang_inter_token_count_counts_tokens_and_sum_holds_the_intervals() -> None:
    labels = {"model_name": "m", "engine_type": "unified"}
    process = Process("sglang", labels, np.random.default_rng(2))
    process.run(60.0)
    samples = {s: v for _, s, v in process.metrics.samples()}
    at = '{engine_type="unified",model_name="m"}'
    count = samples[f"sglang:inter_token_latency_seconds_count{at}"]
    requests = samples[f"sglang:num_requests_total{at}"]
    assert count > 20 * requests  # tokens, not requests
    mean = samples[f"sglang:inter_token_latency_seconds_sum{at}"] / count
    assert 0.02 < mean < 0.045  # the per-token pace (median 0.03 s)


def test_openmetrics_keeps_each_engines_stored_names() -> None:
    process = Process("tgi", {}, np.random.default_rng(3))
    process.run(10.0)
    text = openmetrics({"tgi": [(1000.0, process.metrics.samples())]})
    assert "# TYPE tgi_request_success unknown" in text
    assert text.rstrip().endswith("# EOF")
