"""The exporter's metric families, and how one probe result is recorded into them.

Request-level histograms follow the OpenTelemetry GenAI semantic conventions as the
OTel-to-Prometheus translation spells them, with the semconv's advisory buckets; the rest
is ``llmscope_``. Label values come from the config only (target, provider, model), never
from a response, so cardinality is bounded by the config.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

from exporter.config.types import TargetConfig
from exporter.errors import REASONS
from exporter.metrics.buckets import (
    DURATION_BUCKETS,
    GAP_BUCKETS,
    PHASE_BUCKETS,
    THROUGHPUT_BUCKETS,
    TOKEN_BUCKETS,
    TTFC_BUCKETS,
)
from exporter.probing.harness import ProbeResult
from servicekit.version import VERSION

# _created series double every family and carry no information for probes.
disable_created_metrics()  # type: ignore[no-untyped-call]

OPERATION = "chat"
_GENAI = ("target", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_operation_name")
IDLE_REASONS = ("missing_api_key", "budget_exhausted")


@dataclass(frozen=True)
class _TargetLabels:
    genai: tuple[str, str, str, str]

    @classmethod
    def of(cls, target: TargetConfig, semconv_name: str) -> _TargetLabels:
        return cls((target.name, semconv_name, target.model, OPERATION))


class ExporterMetrics:
    """All exporter families, registered on one registry (a fresh one per test)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        r = registry
        self.duration = Histogram(
            "gen_ai_client_operation_duration_seconds",
            "GenAI operation duration: request sent to last byte of the stream.",
            [*_GENAI, "error_type"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.ttfc = Histogram(
            "gen_ai_client_operation_time_to_first_chunk_seconds",
            "Time from request to the first streamed chunk with content (successful probes).",
            _GENAI,
            buckets=TTFC_BUCKETS,
            registry=r,
        )
        self.chunk_gap = Histogram(
            "gen_ai_client_operation_time_per_output_chunk_seconds",
            "Time between consecutive streamed chunks with content (successful probes).",
            _GENAI,
            buckets=GAP_BUCKETS,
            registry=r,
        )
        self.token_usage = Histogram(
            "gen_ai_client_token_usage",
            "Tokens per operation as reported by the provider (estimates are not included).",
            [*_GENAI, "gen_ai_token_type"],
            buckets=TOKEN_BUCKETS,
            registry=r,
        )
        self.throughput = Histogram(
            "llmscope_probe_output_tokens_per_second",
            "Output tokens per second after the first chunk arrived (successful probes).",
            _GENAI,
            buckets=THROUGHPUT_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "llmscope_tokens",
            "Tokens used by probes; source says whether the provider reported or we estimated.",
            ["target", "gen_ai_token_type", "source"],
            registry=r,
        )
        self.probes = Counter(
            "llmscope_probes", "Probes finished, successful or not.", ["target"], registry=r
        )
        self.errors = Counter(
            "llmscope_probe_errors", "Failed probes by reason.", ["target", "reason"], registry=r
        )
        self.success = Gauge(
            "llmscope_probe_success",
            "Whether the latest probe of the target succeeded (1) or not (0).",
            ["target"],
            registry=r,
        )
        self.last = Gauge(
            "llmscope_probe_last_timestamp_seconds",
            "Unix time at which the latest probe of the target started.",
            ["target"],
            registry=r,
        )
        self.status = Gauge(
            "llmscope_probe_http_status_code",
            "HTTP status of the latest probe (0 when no response came).",
            ["target"],
            registry=r,
        )
        self.phase = Histogram(
            "llmscope_probe_phase_duration_seconds",
            "Network phases of a probe: connect (DNS and TCP), tls, first_byte (response "
            "headers after the request was sent).",
            ["target", "phase"],
            buckets=PHASE_BUCKETS,
            registry=r,
        )
        self.server_phase = Histogram(
            "llmscope_server_phase_duration_seconds",
            "Durations the provider measured itself (Ollama load/prompt_eval/eval/total, "
            "Bedrock latency).",
            ["target", "phase"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.lateness = Histogram(
            "llmscope_probe_schedule_lateness_seconds",
            "How late a probe started against its schedule (concurrency cap, busy loop).",
            ["target"],
            buckets=PHASE_BUCKETS,
            registry=r,
        )
        self.skipped = Counter(
            "llmscope_probe_skipped",
            "Scheduled probes skipped because the previous one was still running or a "
            "Retry-After asked to wait.",
            ["target"],
            registry=r,
        )
        self.rate_limit = Gauge(
            "llmscope_rate_limit_remaining",
            "Remaining requests or tokens the provider announced in its rate-limit headers.",
            ["target", "kind"],
            registry=r,
        )
        self.cost = Counter(
            "llmscope_cost_usd",
            "Spend of probes in US dollars by token type, from the price "
            "table (targets without a known price have no series).",
            ["target", "gen_ai_token_type"],
            registry=r,
        )
        self.budget_paused = Gauge(
            "llmscope_budget_paused",
            "1 while the target is paused until the next UTC day by its daily budget.",
            ["target"],
            registry=r,
        )
        self.budget_usd = Gauge(
            "llmscope_budget_daily_usd",
            "Configured daily spend budget in US dollars.",
            ["target"],
            registry=r,
        )
        self.budget_tokens = Gauge(
            "llmscope_budget_daily_tokens", "Configured daily token budget.", ["target"], registry=r
        )
        self.spent_usd = Gauge(
            "llmscope_budget_spent_today_usd",
            "Spend counted against the budget since 00:00 UTC.",
            ["target"],
            registry=r,
        )
        self.spent_tokens = Gauge(
            "llmscope_budget_spent_today_tokens",
            "Tokens counted against the budget since 00:00 UTC.",
            ["target"],
            registry=r,
        )
        self.info = Gauge(
            "llmscope_target_info",
            "Configured targets (value is always 1).",
            ["target", "provider", "model", "endpoint"],
            registry=r,
        )
        self.idle = Gauge(
            "llmscope_target_idle",
            "1 while the target is not probed, with the reason.",
            ["target", "reason"],
            registry=r,
        )
        self.interval = Gauge(
            "llmscope_target_interval_seconds",
            "Configured probe interval of the target.",
            ["target"],
            registry=r,
        )
        self.in_flight = Gauge("llmscope_probes_in_flight", "Probes running now.", registry=r)
        build = Gauge(
            "llmscope_build_info",
            "Build information (value is always 1).",
            ["version", "python_version"],
            registry=r,
        )
        build.labels(VERSION, platform.python_version()).set(1)

    def declare(self, targets: Iterable[tuple[TargetConfig, str]]) -> None:
        """Create every per-target series up front, so absent errors read 0, not nothing.

        Each target comes with the root URL its probes go to (base_url or the provider's
        default); only its scheme and host become a label.
        """
        for target, endpoint in targets:
            with contextlib.suppress(KeyError):
                for labels in _label_sets(self.info):
                    if labels[0] == target.name:
                        self.info.remove(*labels)
            self.info.labels(target.name, target.provider, target.model, _endpoint(endpoint)).set(1)
            self.interval.labels(target.name).set(target.interval)
            self.probes.labels(target.name)
            self._declare_budget(target)
            for reason in REASONS:
                self.errors.labels(target.name, reason)

    def forget(self, target: str) -> None:
        """Drop every series of a target removed by a reload."""
        for family in (
            self.duration,
            self.ttfc,
            self.chunk_gap,
            self.token_usage,
            self.throughput,
            self.tokens,
            self.probes,
            self.errors,
            self.success,
            self.last,
            self.status,
            self.phase,
            self.server_phase,
            self.lateness,
            self.skipped,
            self.rate_limit,
            self.cost,
            self.info,
            self.idle,
            self.interval,
            self.budget_paused,
            self.budget_usd,
            self.budget_tokens,
            self.spent_usd,
            self.spent_tokens,
        ):
            for labels in _label_sets(family):
                if labels and labels[0] == target:
                    family.remove(*labels)

    def _declare_budget(self, target: TargetConfig) -> None:
        """Budget gauges exist only for targets with a budget (a reload may remove it)."""
        for gauge in (
            self.budget_usd,
            self.budget_tokens,
            self.budget_paused,
            self.spent_usd,
            self.spent_tokens,
        ):
            with contextlib.suppress(KeyError):
                gauge.remove(target.name)
        budget = target.budget
        if budget is None:
            return
        self.budget_paused.labels(target.name).set(0)
        self.set_spent(target.name, 0, 0.0)
        if budget.daily_usd is not None:
            self.budget_usd.labels(target.name).set(budget.daily_usd)
        if budget.daily_tokens is not None:
            self.budget_tokens.labels(target.name).set(budget.daily_tokens)

    def set_spent(self, target: str, tokens: int, usd: float) -> None:
        self.spent_tokens.labels(target).set(tokens)
        self.spent_usd.labels(target).set(usd)

    def set_idle(self, target: str, reason: str | None) -> None:
        for known in IDLE_REASONS:
            self.idle.labels(target, known).set(1 if known == reason else 0)

    def record(
        self,
        target: TargetConfig,
        semconv_name: str,
        result: ProbeResult,
        spend: Mapping[str, float] | None = None,
    ) -> None:
        labels = _TargetLabels.of(target, semconv_name).genai
        name = target.name
        self.probes.labels(name).inc()
        self.last.labels(name).set(result.timestamp)
        self.status.labels(name).set(result.status or 0)
        self.success.labels(name).set(1 if result.success else 0)
        self.duration.labels(*labels, result.reason or "").observe(result.duration)
        for phase, seconds in result.phases.items():
            self.phase.labels(name, phase).observe(seconds)
        for kind, remaining in result.rate_limits.items():
            self.rate_limit.labels(name, kind).set(remaining)
        for kind, usd in (spend or {}).items():  # failed probes that streamed were billed
            self.cost.labels(name, kind).inc(usd)
        if not result.success:
            self.errors.labels(name, result.reason or "internal").inc()
            return
        if result.time_to_first_chunk is not None:
            self.ttfc.labels(*labels).observe(result.time_to_first_chunk)
        gap_child = self.chunk_gap.labels(*labels)
        for gap in result.gaps:
            gap_child.observe(gap)
        if result.output_tokens_per_second is not None:
            self.throughput.labels(*labels).observe(result.output_tokens_per_second)
        for phase, seconds in result.server_timings.items():
            self.server_phase.labels(name, phase).observe(seconds)
        for kind, count, estimated in (
            ("input", result.input_tokens, result.input_estimated),
            ("output", result.output_tokens, result.output_estimated),
        ):
            if count is None:
                continue
            self.tokens.labels(name, kind, "estimated" if estimated else "reported").inc(count)
            if not estimated:
                self.token_usage.labels(*labels, kind).observe(count)


def _endpoint(base_url: str) -> str:
    """scheme://host[:port] of a base URL: paths and query strings can carry secrets."""
    scheme, sep, rest = base_url.partition("://")
    if not sep:
        return ""
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}"


def _label_sets(family: Counter | Gauge | Histogram) -> list[tuple[str, ...]]:
    with family._lock:  # prometheus_client exposes no public way to list children
        return [tuple(labels) for labels in family._metrics]
