"""Issue 23 point 6, live: engines' /metrics served over HTTP, scraped by a real Prometheus,
found by the presets' discovery and charted by the running sidecar."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from spc_rules.sidecar.config.loader import builtin_config, load_text
from spc_rules.sidecar.config.presets import wanted_names
from spc_rules.sidecar.discovery import stored_names
from testkit.backends import filled_victoria_metrics
from testkit.engine_http import ServedEngines
from testkit.engine_traffic import Process, Workload
from testkit.realservers import Prometheus, free_port, http_get, prometheus
from tests.sidecar.expected import parse
from tests.sidecar.process import sidecar_process

ENGINES = {
    "vllm": {"model_name": "llama-3-8b", "engine": "0"},
    "sglang": {"model_name": "qwen-7b", "engine_type": "unified"},
    "tgi": {},
    "litellm": {"requested_model": "gpt-4o"},
    "trtllm": {"model_name": "mistral-7b", "engine_type": "trtllm"},
}
CHARTS = {
    "vllm_e2e_latency": "model_name=llama-3-8b",
    "vllm_time_to_first_token": "model_name=llama-3-8b",
    "vllm_time_per_output_token": "model_name=llama-3-8b",
    "vllm_queue_time": "model_name=llama-3-8b",
    "sglang_e2e_latency": "model_name=qwen-7b",
    "sglang_time_to_first_token": "model_name=qwen-7b",
    "sglang_inter_token_latency": "model_name=qwen-7b",
    "sglang_queue_time": "model_name=qwen-7b",
    "tgi_request_duration": "job=tgi,instance=",
    "tgi_time_per_token": "job=tgi,instance=",
    "tgi_queue_time": "job=tgi,instance=",
    "litellm_request_latency": "requested_model=gpt-4o",
    "litellm_api_latency": "requested_model=gpt-4o",
    "litellm_api_time_to_first_token": "requested_model=gpt-4o",
    "litellm_overhead": "model_group=gpt-4o",
    "trtllm_e2e_latency": "model_name=mistral-7b",
    "trtllm_time_to_first_token": "model_name=mistral-7b",
    "trtllm_time_per_output_token": "model_name=mistral-7b",
    "trtllm_queue_time": "model_name=mistral-7b",
}
P_CHARTS = ("vllm_aborts", "sglang_aborts", "tgi_failures", "litellm_failures")
# Families the fixtures do not export (a newer vLLM's name, LiteLLM's optional queue time):
# their charts must not be charted.
ABSENT = ("vllm_inter_token_latency", "litellm_queue_time")


@pytest.fixture(scope="module")
def scraped() -> Iterator[tuple[Prometheus, ServedEngines]]:
    rng = np.random.default_rng(23)
    processes = [Process(e, labels, rng, Workload(rate=20.0)) for e, labels in ENGINES.items()]
    with ServedEngines(processes) as served:
        jobs = "".join(
            f"  - job_name: {engine}\n    static_configs: [{{targets: ['{target}']}}]\n"
            for engine, target in zip(ENGINES, served.targets, strict=True)
        )
        config = "global:\n  scrape_interval: 1s\nscrape_configs:\n" + jobs
        with prometheus(config) as prom:
            wanted = wanted_names(builtin_config().presets)
            deadline = time.monotonic() + 30
            while len(stored_names(prom.url, wanted, 5.0)) < 40 and time.monotonic() < deadline:
                time.sleep(0.5)
            yield prom, served


def test_discovery_finds_exactly_the_exported_families(
    scraped: tuple[Prometheus, ServedEngines],
) -> None:
    prom, _ = scraped
    found = stored_names(prom.url, wanted_names(builtin_config().presets), 5.0)
    assert {"vllm:e2e_request_latency_seconds_count", "tgi_request_failure"} <= found
    assert {"litellm_proxy_total_requests_metric_total", "sglang:num_requests_total"} <= found
    assert "vllm:inter_token_latency_seconds_count" not in found
    assert "litellm_request_queue_time_seconds_sum" not in found


def test_config_check_lists_what_the_presets_would_chart(
    scraped: tuple[Prometheus, ServedEngines],
) -> None:
    prom, _ = scraped
    out = subprocess.run(
        [sys.executable, "-m", "spc_rules", "--config.check", f"--prometheus.url={prom.url}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert out[0] == f"built-in default: valid, {len(builtin_config().charts)} charts"
    listed = {line.split(": ", 1)[1].split(" ", 1)[0] for line in out[1:]}
    assert listed == set(CHARTS) | set(P_CHARTS)
    line = "preset vllm: vllm_e2e_latency (vllm:e2e_request_latency_seconds by model_name, "
    assert line + "kind histogram)" in out


def test_config_check_says_when_prometheus_cannot_be_asked() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "spc_rules",
            "--config.check",
            f"--prometheus.url=http://127.0.0.1:{free_port()}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == f"built-in default: valid, {len(builtin_config().charts)} charts\n"
    assert done.stderr.startswith("presets: cannot ask http://127.0.0.1:")


def test_the_sidecar_charts_every_engine_it_finds_with_limits(
    scraped: tuple[Prometheus, ServedEngines], tmp_path: Path
) -> None:
    prom, served = scraped
    (tmp_path / "spc.yml").write_text(
        "global: {min_points: 5, evaluation: 5m, baseline: 5m}\npresets: auto\n"
    )
    tgi = served.targets[list(ENGINES).index("tgi")]
    with sidecar_process(tmp_path / "spc.yml", prom.url, free_port(), tmp_path / "spc.log") as url:
        deadline = time.monotonic() + 90
        while True:
            got = parse(http_get(f"{url}/metrics").decode())
            limits = {
                (dict(k[1])["chart"], dict(k[1])["series"])
                for k, v in got.items()
                if k[0] == "llmscope_spc_limits_available" and v == 1.0
            }
            want = {(c, s.replace("instance=", f"instance={tgi}")) for c, s in CHARTS.items()}
            if want <= limits or time.monotonic() > deadline:
                break
            time.sleep(1.0)
    assert want - limits == set()
    info = {dict(k[1])["chart"] for k in got if k[0] == "llmscope_spc_chart_info"}
    assert info == set(CHARTS) | set(P_CHARTS)
    assert not info & set(ABSENT)


def test_discovery_answers_the_same_on_victoriametrics() -> None:
    process = Process("vllm", ENGINES["vllm"], np.random.default_rng(4))
    process.run(60.0)
    stamp = round(time.time() * 1000) - 60_000
    text = "".join(f"{s} {v!r} {stamp}\n" for _, s, v in process.metrics.samples())
    wanted = wanted_names(load_text("presets: [vllm, tgi]\n", "t").presets)
    with filled_victoria_metrics(text) as vm:
        found = stored_names(vm.url, wanted, 5.0)
    histograms = ("e2e_request_latency", "time_to_first_token", "time_per_output_token")
    names = [f"vllm:{h}_seconds" for h in (*histograms, "request_queue_time")]
    expected = {f"{n}{s}" for n in names for s in ("_sum", "_count")}
    assert found == expected | {"vllm:request_success_total"}
