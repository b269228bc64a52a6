"""Simulated request traffic through serving engines, recorded the way each engine records it.

A ``Process`` is one engine process (a vLLM replica, an SGLang server, a TGI router, a LiteLLM
proxy) with its ``Exposition`` (testkit/engines.py). ``run(seconds)`` lets Poisson traffic
through it: per request log-normal times, observed into the histograms the engine's source
observes them into (vLLM and SGLang one value per output token for the per-token histograms,
SGLang adding chunk intervals to _sum and token counts to the buckets; TGI a mean time per
token that includes the prefill; LiteLLM the upstream call, its own overhead in seconds and
their sum), and the success and failure counters. ``slow`` multiplies every time the engine
itself spends (a slowdown); for LiteLLM ``provider_slow`` multiplies the upstream call only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from testkit.engines import Exposition


@dataclass(frozen=True)
class Workload:
    rate: float = 2.0  # requests per second
    ttft: float = 0.25  # median seconds
    per_token: float = 0.03  # median seconds per output token
    queue: float = 0.02  # median seconds waiting
    failure: float = 0.01  # share of requests that fail or are aborted


@dataclass
class Process:
    engine: str
    labels: Mapping[str, str]  # the engine's own labels (model_name ...), not job/instance
    rng: np.random.Generator
    work: Workload = field(default_factory=Workload)
    slow: float = 1.0
    provider_slow: float = 1.0

    def __post_init__(self) -> None:
        self.metrics = Exposition(self.engine)

    def run(self, seconds: float) -> None:
        n = int(self.rng.poisson(self.work.rate * seconds))
        if n == 0:
            return
        getattr(self, f"_{self.engine}")(n)

    # The shape of one request ----------------------------------------------------------

    def _times(self, n: int) -> dict[str, np.ndarray]:
        rng, w, s = self.rng, self.work, self.slow
        tokens = rng.integers(20, 400, n)
        per_token = w.per_token * s * rng.lognormal(0.0, 0.2, n)
        ttft = w.ttft * s * rng.lognormal(0.0, 0.4, n)
        queue = w.queue * s * rng.lognormal(0.0, 0.8, n)
        return {
            "tokens": tokens.astype(float),
            "per_token": per_token,
            "ttft": ttft,
            "queue": queue,
            "e2e": queue + ttft + (tokens - 1) * per_token,
        }

    def _token_values(self, t: dict[str, np.ndarray]) -> np.ndarray:
        """One value per output token after the first: the request's pace, jittered."""
        pace = np.repeat(t["per_token"], (t["tokens"] - 1).astype(int))
        return np.asarray(pace * self.rng.lognormal(0.0, 0.1, pace.size))

    # Per engine ----------------------------------------------------------------------

    def _vllm(self, n: int) -> None:
        t, m, lab = self._times(n), self.metrics, dict(self.labels)
        m.observe("vllm:e2e_request_latency_seconds", lab, t["e2e"])
        m.observe("vllm:time_to_first_token_seconds", lab, t["ttft"])
        m.observe("vllm:time_per_output_token_seconds", lab, self._token_values(t))
        m.observe("vllm:request_queue_time_seconds", lab, t["queue"])
        aborted = int(self.rng.binomial(n, self.work.failure))
        length = int(self.rng.binomial(n - aborted, 0.2))
        for reason, count in (("abort", aborted), ("length", length)):
            m.add("vllm:request_success", {**lab, "finished_reason": reason}, count)
        m.add("vllm:request_success", {**lab, "finished_reason": "stop"}, n - aborted - length)

    def _trtllm(self, n: int) -> None:
        t, m, lab = self._times(n), self.metrics, dict(self.labels)
        m.observe("trtllm_e2e_request_latency_seconds", lab, t["e2e"])
        m.observe("trtllm_time_to_first_token_seconds", lab, t["ttft"])
        m.observe("trtllm_time_per_output_token_seconds", lab, t["per_token"])
        m.observe("trtllm_request_queue_time_seconds", lab, t["queue"])
        m.add("trtllm_request_success", {**lab, "finished_reason": "stop"}, n)

    def _sglang(self, n: int) -> None:
        t, m, lab = self._times(n), self.metrics, dict(self.labels)
        m.observe("sglang:e2e_request_latency_seconds", lab, t["e2e"])
        m.observe("sglang:time_to_first_token_seconds", lab, t["ttft"])
        # Streamed in chunks of 4 tokens: the interval to _sum, 4 to the bucket of interval / 4.
        per_token = self._token_values(t)
        chunks = per_token[: per_token.size // 4 * 4].reshape(-1, 4).sum(axis=1)
        m.observe(
            "sglang:inter_token_latency_seconds",
            lab,
            chunks / 4,
            total=float(chunks.sum()),
            weights=np.full(chunks.size, 4.0),
        )
        ranks = {"tp_rank": "0", "pp_rank": "0", "moe_ep_rank": "0"}
        m.observe("sglang:queue_time_seconds", {**lab, **ranks}, t["queue"])
        m.add("sglang:num_requests", lab, n)
        m.add("sglang:num_aborted_requests", lab, int(self.rng.binomial(n, self.work.failure)))

    def _tgi(self, n: int) -> None:
        t, m = self._times(n), self.metrics
        failed = int(self.rng.binomial(n, self.work.failure))
        ok = n - failed
        inference = t["ttft"][:ok] + (t["tokens"][:ok] - 1) * t["per_token"][:ok]
        m.add("tgi_request_count", {}, n)
        m.add("tgi_request_success", {}, ok)
        validation = int(self.rng.binomial(failed, 0.5))
        m.add("tgi_request_failure", {"err": "validation"}, validation)
        m.add("tgi_request_failure", {"err": "generation"}, failed - validation)
        m.observe("tgi_request_duration", {}, t["e2e"][:ok])
        m.observe("tgi_request_queue_duration", {}, t["queue"][:ok])
        m.observe("tgi_request_mean_time_per_token_duration", {}, inference / t["tokens"][:ok])

    def _litellm(self, n: int) -> None:
        rng, m, lab = self.rng, self.metrics, dict(self.labels)
        model = lab["requested_model"]
        api = 1.5 * self.provider_slow * rng.lognormal(0.0, 0.5, n)
        first = 0.4 * self.provider_slow * rng.lognormal(0.0, 0.4, n)
        overhead = 0.012 * self.slow * rng.lognormal(0.0, 0.3, n)
        user = {
            "end_user": "",
            "hashed_api_key": "88dc28d0f030c55ed4ab77ed8faf0981",
            "api_key_alias": "svc",
            "team": "t1",
            "team_alias": "search",
            "user": "u1",
        }
        api_labels = {**user, "model": model, "requested_model": model, "model_id": "m-1"}
        m.observe("litellm_request_total_latency_metric", api_labels, api + overhead)
        m.observe("litellm_llm_api_latency_metric", api_labels, api)
        m.observe("litellm_llm_api_time_to_first_token_metric", api_labels, first)
        deployment = {
            "model_group": model,
            "api_provider": "openai",
            "api_base": "https://api.openai.com",
            "litellm_model_name": model,
            "hashed_api_key": user["hashed_api_key"],
            "api_key_alias": "svc",
            "model_id": "m-1",
        }
        m.observe("litellm_overhead_latency_metric", deployment, overhead)
        failed = int(rng.binomial(n, self.work.failure))
        proxy = {k: user[k] for k in ("end_user", "hashed_api_key", "api_key_alias", "team")}
        proxy |= {"team_alias": "search", "user": "u1", "requested_model": model}
        m.add("litellm_proxy_total_requests_metric", {**proxy, "status_code": "200"}, n - failed)
        m.add("litellm_proxy_total_requests_metric", {**proxy, "status_code": "429"}, failed)
        error = {"exception_status": "429", "exception_class": "RateLimitError"}
        m.add("litellm_proxy_failed_requests_metric", {**proxy, **error}, failed)
        # The provider's x-ratelimit-remaining-requests: falls with use, refilled by its window.
        left = m.value("litellm_remaining_requests_metric", deployment, 10_000.0) - n
        m.set("litellm_remaining_requests_metric", deployment, left if left > 500 else 10_000.0)
        tokens = m.value("litellm_remaining_tokens_metric", deployment, 2e6) - 300.0 * n
        m.set("litellm_remaining_tokens_metric", deployment, tokens if tokens > 1e5 else 2e6)
