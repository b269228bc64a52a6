"""The family catalogue: every family of the exporter's /metrics, its help, labels and where its
series come from, in exposition order (the golden exposition file pins that order).

Request-level histograms follow the OpenTelemetry GenAI semantic conventions as the
OTel-to-Prometheus translation spells them, with the semconv's advisory buckets; time to first
reasoning and first answer chunk extend them in the same style (docs/exporter.md); the rest is
``llmscope_``. Label values come from the config only (target, provider, model), never from a
response, so cardinality is bounded by the config.
"""

from __future__ import annotations

import platform
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from exporter.metrics.render import counter, gauge, histogram, keyed, keyed_histos, one, present
from exporter.metrics.series import TargetSeries
from servicekit.version import VERSION

# The request metrics' labels; ``workload`` keeps probes of different sizes apart.
_GENAI = [
    "target",
    "gen_ai_provider_name",
    "gen_ai_request_model",
    "gen_ai_operation_name",
    "workload",
]


def families(targets: list[TargetSeries], in_flight: int) -> Iterator[Metric]:
    yield histogram(
        "gen_ai_client_operation_duration_seconds",
        "GenAI operation duration: request sent to last byte of the stream.",
        [*_GENAI, "error_type"],
        targets,
        lambda s: keyed_histos(s.duration),
        genai=True,
    )
    yield histogram(
        "gen_ai_client_operation_time_to_first_chunk_seconds",
        "Time from request to the first streamed chunk with content (successful probes).",
        _GENAI,
        targets,
        lambda s: one(s.ttfc),
        genai=True,
    )
    yield histogram(
        "gen_ai_client_operation_time_to_first_reasoning_chunk_seconds",
        "Time from request to the first streamed reasoning (thinking) chunk (successful "
        "probes of models that stream their reasoning).",
        _GENAI,
        targets,
        lambda s: one(s.ttfr),
        genai=True,
    )
    yield histogram(
        "gen_ai_client_operation_time_to_first_answer_chunk_seconds",
        "Time from request to the first streamed chunk of the answer, after any reasoning "
        "(successful probes that answered).",
        _GENAI,
        targets,
        lambda s: one(s.ttfa),
        genai=True,
    )
    yield histogram(
        "gen_ai_client_operation_time_per_output_chunk_seconds",
        "Time between consecutive streamed chunks with content (successful probes).",
        _GENAI,
        targets,
        lambda s: one(s.chunk_gap),
        genai=True,
    )
    yield histogram(
        "gen_ai_client_token_usage",
        "Tokens per operation as reported by the provider (estimates are not included); "
        "reasoning tokens are a part of output.",
        [*_GENAI, "gen_ai_token_type"],
        targets,
        lambda s: keyed_histos(s.token_usage),
        genai=True,
    )
    yield histogram(
        "llmscope_probe_output_tokens_per_second",
        "Answer tokens per second from the first answer chunk to the end (successful probes; "
        "none where reasoning streamed without its own token count).",
        _GENAI,
        targets,
        lambda s: one(s.throughput),
        genai=True,
    )
    yield counter(
        "llmscope_tokens",
        "Tokens used by probes; source says whether the provider reported or we estimated.",
        ["target", "gen_ai_token_type", "source"],
        targets,
        lambda s: s.tokens.items(),
    )
    yield counter(
        "llmscope_probes",
        "Probes finished, successful or not.",
        ["target"],
        targets,
        lambda s: [((), s.probes)],
    )
    yield counter(
        "llmscope_probe_errors",
        "Failed probes by reason.",
        ["target", "reason"],
        targets,
        lambda s: keyed(s.errors),
    )
    yield gauge(
        "llmscope_probe_success",
        "Whether the latest probe of the target succeeded (1) or not (0).",
        ["target"],
        targets,
        lambda s: present(s.success),
    )
    yield gauge(
        "llmscope_probe_last_timestamp_seconds",
        "Unix time at which the latest probe of the target started.",
        ["target"],
        targets,
        lambda s: present(s.last),
    )
    yield gauge(
        "llmscope_probe_http_status_code",
        "HTTP status of the latest probe (0 when no response came).",
        ["target"],
        targets,
        lambda s: present(s.status),
    )
    yield histogram(
        "llmscope_probe_phase_duration_seconds",
        "Network phases of a probe: dns, connect (TCP), tls, first_byte (response "
        "headers after the request was sent).",
        ["target", "phase"],
        targets,
        lambda s: keyed_histos(s.phase),
    )
    yield histogram(
        "llmscope_server_phase_duration_seconds",
        "Durations the provider measured itself (Ollama load/prompt_eval/eval/total, "
        "Bedrock latency).",
        ["target", "phase"],
        targets,
        lambda s: keyed_histos(s.server_phase),
    )
    yield histogram(
        "llmscope_probe_schedule_lateness_seconds",
        "How late a probe started against its schedule (concurrency cap, busy loop).",
        ["target"],
        targets,
        lambda s: one(s.lateness),
    )
    yield counter(
        "llmscope_probe_skipped",
        "Scheduled probes skipped because the previous one was still running or a "
        "Retry-After asked to wait.",
        ["target"],
        targets,
        lambda s: present(s.skipped),
    )
    yield gauge(
        "llmscope_rate_limit_remaining",
        "Remaining requests or tokens the provider announced in its rate-limit headers.",
        ["target", "kind"],
        targets,
        lambda s: keyed(s.rate_limit),
    )
    yield counter(
        "llmscope_cost_usd",
        "Spend of probes in US dollars by token type, from the price "
        "table (targets without a known price have no series).",
        ["target", "gen_ai_token_type"],
        targets,
        lambda s: keyed(s.cost),
    )
    yield from _budget_families(targets)
    yield gauge(
        "llmscope_target_info",
        "Configured targets (value is always 1); endpoint is scheme://host:port of the URL "
        "probed, server_address and server_port its parts (OpenTelemetry's server.*).",
        ["target", "provider", "model", "endpoint", "server_address", "server_port"],
        targets,
        lambda s: [(s.info[1:], 1.0)],
    )
    yield gauge(
        "llmscope_target_idle",
        "1 while the target is not probed, with the reason.",
        ["target", "reason"],
        targets,
        lambda s: keyed(s.idle),
    )
    yield gauge(
        "llmscope_target_interval_seconds",
        "Configured probe interval of the target.",
        ["target"],
        targets,
        lambda s: [((), s.interval)],
    )
    yield GaugeMetricFamily("llmscope_probes_in_flight", "Probes running now.", in_flight)
    build = GaugeMetricFamily(
        "llmscope_build_info",
        "Build information (value is always 1).",
        labels=["version", "python_version"],
    )
    build.add_metric([VERSION, platform.python_version()], 1)
    yield build


def _budget_families(targets: list[TargetSeries]) -> Iterator[Metric]:
    budgets = [(s, s.budget) for s in targets if s.budget is not None]
    for name, doc, field in _BUDGET_FAMILIES:
        family = GaugeMetricFamily(name, doc, labels=["target"])
        for s, budget in budgets:
            value = getattr(budget, field)
            if value is not None:
                family.add_metric([s.genai[0]], value)
        yield family


_BUDGET_FAMILIES: tuple[tuple[str, str, str], ...] = (
    (
        "llmscope_budget_paused",
        "1 while the target is paused until the next UTC day by its daily budget.",
        "paused",
    ),
    ("llmscope_budget_daily_usd", "Configured daily spend budget in US dollars.", "daily_usd"),
    ("llmscope_budget_daily_tokens", "Configured daily token budget.", "daily_tokens"),
    (
        "llmscope_budget_spent_today_usd",
        "Spend counted against the budget since 00:00 UTC.",
        "spent_usd",
    ),
    (
        "llmscope_budget_spent_today_tokens",
        "Tokens counted against the budget since 00:00 UTC.",
        "spent_tokens",
    ),
)
