"""The families serving engines export, copied from their source code: name, type, help,
label names and buckets. Sources, per engine (docs/engines.md has the same list):

- vLLM: vllm-project/vllm ``vllm/v1/metrics/loggers.py`` (``PrometheusStatLogger``)
- SGLang: sgl-project/sglang ``python/sglang/srt/metrics/collector.py``
- TGI: huggingface/text-generation-inference ``router/src/server.rs`` (metrics-rs with
  metrics-exporter-prometheus: no ``_total`` on counters, no labels but ``err``)
- LiteLLM: BerriAI/litellm ``litellm/integrations/prometheus.py`` and
  ``litellm/types/integrations/prometheus.py`` (labels, ``LATENCY_BUCKETS``)
- TensorRT-LLM: NVIDIA/TensorRT-LLM ``tensorrt_llm/metrics/collector.py``
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Buckets = tuple[float, ...]
VLLM_REQUEST: Buckets = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0)
VLLM_REQUEST += (40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0)
VLLM_TTFT: Buckets = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0)
VLLM_TTFT += (2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)
VLLM_TPOT: Buckets = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0)
VLLM_TPOT += (2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0)
_SG: Buckets = (0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 20.0, 40.0, 60.0, 80.0)
SGLANG_TTFT: Buckets = (*_SG, 100.0, 200.0, 400.0)
SGLANG_E2E: Buckets = (*_SG, 100.0, 200.0, 400.0, 600.0, 1200.0, 1800.0, 2400.0)
SGLANG_ITL: Buckets = (0.002, 0.004, 0.006, 0.008, 0.010, 0.015, 0.020, 0.025, 0.030, 0.035)
SGLANG_ITL += (0.040, 0.060, 0.080, 0.100, 0.200, 0.400, 0.600, 0.800, 1.0, 2.0, 4.0, 6.0, 8.0)
SGLANG_QUEUE: Buckets = (0.0, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 15.0, 20.0, 30.0)
SGLANG_QUEUE += (40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0, 200.0, 300.0, 400.0, 500.0, 600.0)
SGLANG_QUEUE += (700.0, 800.0, 900.0, 1000.0, 1200.0, 1400.0, 1600.0, 1800.0, 2000.0, 2500.0)
SGLANG_QUEUE += (3000.0,)
# server.rs: 35 buckets, a geometric sequence from 0.0001 * 1.5 (every name ending "duration")
TGI_DURATION: Buckets = tuple(0.0001 * 1.5**k for k in range(1, 36))
LITELLM_LATENCY: Buckets = (0.005, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.5, 1.0, 1.5, 2.0)
LITELLM_LATENCY += (2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5)
LITELLM_LATENCY += (10.0, 15.0, 20.0, 25.0, 30.0, 60.0, 120.0, 180.0, 240.0, 300.0)

_LITELLM_API = (
    "model",
    "hashed_api_key",
    "api_key_alias",
    "team",
    "team_alias",
    "requested_model",
    "end_user",
    "user",
    "model_id",
)
_LITELLM_TOTAL = (
    "end_user",
    "hashed_api_key",
    "api_key_alias",
    "requested_model",
    "team",
    "team_alias",
    "user",
    "model",
    "model_id",
)
_LITELLM_DEPLOYMENT = (
    "model_group",
    "api_provider",
    "api_base",
    "litellm_model_name",
    "hashed_api_key",
    "api_key_alias",
    "model_id",
)
_LITELLM_PROXY: tuple[str, ...] = ("end_user", "hashed_api_key", "api_key_alias")
_LITELLM_PROXY += ("requested_model", "team", "team_alias", "user")


@dataclass(frozen=True)
class Family:
    name: str  # as registered (a prometheus_client counter's name without _total)
    kind: str  # histogram, counter or gauge
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()


def _vllm_like(prefix: str, labels: tuple[str, ...], e2e_help: str) -> tuple[Family, ...]:
    return (
        Family(f"{prefix}e2e_request_latency_seconds", "histogram", e2e_help, labels, VLLM_REQUEST),
        Family(
            f"{prefix}time_to_first_token_seconds",
            "histogram",
            "Histogram of time to first token in seconds.",
            labels,
            VLLM_TTFT,
        ),
        Family(
            f"{prefix}time_per_output_token_seconds",
            "histogram",
            "Histogram of time per output token in seconds.",
            labels,
            VLLM_TPOT,
        ),
        Family(
            f"{prefix}request_queue_time_seconds",
            "histogram",
            "Histogram of time spent in WAITING phase for request.",
            labels,
            VLLM_REQUEST,
        ),
        Family(
            f"{prefix}request_success",
            "counter",
            "Count of successfully processed requests.",
            (*labels, "finished_reason"),
        ),
    )


_SG_TOKENIZER = ("model_name", "engine_type")
_SG_SCHEDULER = ("model_name", "engine_type", "tp_rank", "pp_rank", "moe_ep_rank")

ENGINES: Mapping[str, tuple[Family, ...]] = {
    "vllm": _vllm_like(
        "vllm:", ("model_name", "engine"), "Histogram of e2e request latency in seconds."
    ),
    "trtllm": _vllm_like(
        "trtllm_",
        ("model_name", "engine_type"),
        "Histogram of end to end request latency in seconds.",
    ),
    "sglang": (
        Family(
            "sglang:e2e_request_latency_seconds",
            "histogram",
            "Histogram of End-to-end request latency in seconds",
            _SG_TOKENIZER,
            SGLANG_E2E,
        ),
        Family(
            "sglang:time_to_first_token_seconds",
            "histogram",
            "Histogram of time to first token in seconds.",
            _SG_TOKENIZER,
            SGLANG_TTFT,
        ),
        Family(
            "sglang:inter_token_latency_seconds",
            "histogram",
            "Histogram of inter-token latency in seconds.",
            _SG_TOKENIZER,
            SGLANG_ITL,
        ),
        Family(
            "sglang:queue_time_seconds",
            "histogram",
            "Histogram of queueing time in seconds.",
            _SG_SCHEDULER,
            SGLANG_QUEUE,
        ),
        Family("sglang:num_requests", "counter", "Number of requests processed.", _SG_TOKENIZER),
        Family(
            "sglang:num_aborted_requests", "counter", "Number of requests aborted.", _SG_TOKENIZER
        ),
    ),
    "tgi": (
        Family(
            "tgi_request_duration",
            "histogram",
            "Total time spent processing the request",
            buckets=TGI_DURATION,
        ),
        Family(
            "tgi_request_queue_duration",
            "histogram",
            "Time spent in the queue per request",
            buckets=TGI_DURATION,
        ),
        Family(
            "tgi_request_mean_time_per_token_duration",
            "histogram",
            "Mean time per token per request",
            buckets=TGI_DURATION,
        ),
        Family("tgi_request_count", "counter", "Total number of requests"),
        Family("tgi_request_success", "counter", "Number of successful requests"),
        Family("tgi_request_failure", "counter", "", ("err",)),
    ),
    "litellm": (
        Family(
            "litellm_request_total_latency_metric",
            "histogram",
            "Total latency (seconds) for a request to LiteLLM",
            _LITELLM_TOTAL,
            LITELLM_LATENCY,
        ),
        Family(
            "litellm_llm_api_latency_metric",
            "histogram",
            "Total latency (seconds) for a models LLM API call",
            _LITELLM_API,
            LITELLM_LATENCY,
        ),
        Family(
            "litellm_llm_api_time_to_first_token_metric",
            "histogram",
            "Time to first token for a models LLM API call",
            _LITELLM_API,
            LITELLM_LATENCY,
        ),
        Family(
            "litellm_overhead_latency_metric",
            "histogram",
            "Latency overhead (milliseconds) added by LiteLLM processing",
            _LITELLM_DEPLOYMENT,
            LITELLM_LATENCY,
        ),
        Family(
            "litellm_proxy_total_requests_metric",
            "counter",
            "Total number of requests made to the proxy server - track number of client side "
            "requests",
            (*_LITELLM_PROXY, "status_code"),
        ),
        Family(
            "litellm_proxy_failed_requests_metric",
            "counter",
            "Total number of failed responses from proxy - the client did not get a success "
            "response from litellm proxy",
            (*_LITELLM_PROXY, "exception_status", "exception_class"),
        ),
        Family(
            "litellm_remaining_requests_metric",
            "gauge",
            "LLM Deployment Analytics - remaining requests for model, returned from LLM API "
            "Provider",
            _LITELLM_DEPLOYMENT,
        ),
        Family(
            "litellm_remaining_tokens_metric",
            "gauge",
            "remaining tokens for model, returned from LLM API Provider",
            _LITELLM_DEPLOYMENT,
        ),
    ),
}
# metrics-rs writes counters under their own name; prometheus_client appends _total.
RUST_STYLE = frozenset({"tgi"})
