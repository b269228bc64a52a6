"""Overview sections about health: the current state, latency, success and errors."""

from __future__ import annotations

from grafana.dashgen.layout import Grid, row
from grafana.dashgen.panels import (
    OK_FAILED,
    Query,
    bargauge,
    stat,
    state_timeline,
    thresholds,
    timeseries,
)
from grafana.dashgen.promql import RATE, T, histogram_quantile


def quantiles(metric: str) -> list[Query]:
    return [
        Query(f"target:{metric}:p{q}_5m{{{T}}}", f"{{{{target}}}} p{q}") for q in ("50", "95", "99")
    ]


def now(grid: Grid) -> None:
    grid.row(row("Now"))
    grid.add(
        stat(
            "Targets",
            "Targets configured in the selected exporters (llmscope_target_info).",
            [Query(f"count(llmscope_target_info{{{T}}})", instant=True)],
            "none",
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Probe success",
            "Share of probes that succeeded over the rate interval, all selected targets "
            "together. Probes refused by a cost guard (reason budget) are not counted as "
            "failures: they never reached the provider.",
            [
                Query(
                    f'1 - sum(rate(llmscope_probe_errors_total{{{T}, reason!="budget"}}{RATE}))'
                    f" / sum(rate(llmscope_probes_total{{{T}}}{RATE}))"
                )
            ],
            "percentunit",
            steps=thresholds((None, "red"), (0.9, "orange"), (0.99, "green")),
            graph=True,
        ),
        5,
        4,
    )
    grid.add(
        stat(
            "Failing now",
            "Targets whose latest probe failed (llmscope_probe_success == 0).",
            [Query(f"count(llmscope_probe_success{{{T}}} == 0) or vector(0)", instant=True)],
            "none",
            steps=thresholds((None, "green"), (1, "red")),
        ),
        5,
        4,
    )
    grid.add(
        stat(
            "Idle or paused",
            "Targets not probed on purpose: no API key in the environment "
            "(missing_api_key) or the daily budget is spent (budget_exhausted).",
            [Query(f"count(llmscope_target_idle{{{T}}} == 1) or vector(0)", instant=True)],
            "none",
            steps=thresholds((None, "green"), (1, "orange")),
        ),
        5,
        4,
    )
    grid.add(
        stat(
            "Spend, last 24 h",
            "Probe spend in US dollars over the last 24 hours (rolling), from the recording "
            "rule target:llmscope_cost_usd:increase1d. Targets without a known price have no "
            "cost series and are not included.",
            [Query(f"sum(target:llmscope_cost_usd:increase1d{{{T}}})", instant=True)],
            "currencyUSD",
        ),
        5,
        4,
    )


def latency(grid: Grid) -> None:
    grid.row(row("Latency"))
    grid.add(
        timeseries(
            "Probe duration p50 / p95 / p99",
            "Request sent to the end of the stream, successful probes only, over 5 minutes "
            "(recording rules target:gen_ai_client_operation_duration_seconds:p*_5m).",
            quantiles("gen_ai_client_operation_duration_seconds"),
            "s",
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Time to first token p50 / p95 / p99",
            "Request sent until the first streamed chunk with content, over 5 minutes "
            "(recording rules target:gen_ai_client_operation_time_to_first_chunk_seconds:p*_5m).",
            quantiles("gen_ai_client_operation_time_to_first_chunk_seconds"),
            "s",
        ),
        12,
        8,
    )
    chunk = "gen_ai_client_operation_time_per_output_chunk_seconds"
    grid.add(
        timeseries(
            "Gap between chunks p50 / p95",
            "Time between consecutive streamed chunks with content (the decoding pace a user "
            "sees), successful probes.",
            [
                Query(histogram_quantile(0.5, chunk), "{{target}} p50"),
                Query(histogram_quantile(0.95, chunk), "{{target}} p95"),
            ],
            "s",
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Network phases p95",
            "connect (DNS and TCP), tls, and first_byte (response headers after the request "
            "was sent), where the HTTP client exposes them. Simulated targets have none.",
            [
                Query(
                    histogram_quantile(
                        0.95, "llmscope_probe_phase_duration_seconds", "target, phase"
                    ),
                    "{{target}} {{phase}}",
                )
            ],
            "s",
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Time to first reasoning and first answer p50",
            "Reasoning models stream thoughts before the answer: time to the first reasoning "
            "chunk and to the first answer chunk, successful probes (targets without reasoning "
            "have the answer line only; it equals time to first token there).",
            [
                Query(
                    histogram_quantile(
                        0.5, f"gen_ai_client_operation_time_to_first_{phase}_chunk_seconds"
                    ),
                    f"{{{{target}}}} {phase}",
                )
                for phase in ("reasoning", "answer")
            ],
            "s",
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Server-reported timings p50",
            "Durations the provider measured itself: Ollama load, prompt_eval, eval and "
            "total; Bedrock latency. Other providers report none.",
            [
                Query(
                    histogram_quantile(
                        0.5, "llmscope_server_phase_duration_seconds", "target, phase"
                    ),
                    "{{target}} {{phase}}",
                )
            ],
            "s",
        ),
        8,
        8,
    )


def success(grid: Grid) -> None:
    grid.row(row("Success and errors"))
    grid.add(
        timeseries(
            "Success ratio",
            "1 - error ratio over 5 minutes (recording rule "
            "target:llmscope_probe_errors:ratio_rate5m; budget refusals excluded).",
            [Query(f"1 - target:llmscope_probe_errors:ratio_rate5m{{{T}}}", "{{target}}")],
            "percentunit",
            min_value=0,
            max_value=1,
        ),
        12,
        8,
    )
    grid.add(
        state_timeline(
            "Latest probe result",
            "Whether each target's latest probe succeeded (llmscope_probe_success).",
            [Query(f"max by (target) (llmscope_probe_success{{{T}}})", "{{target}}")],
            OK_FAILED,
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Failed probes by reason",
            "Failed probes per second by reason: auth, rate_limited, client_error, "
            "server_error, provider_error, dns, connect, tls, timeout, stall, protocol, "
            "truncated, oversized, empty, budget, internal. Reasons at zero are hidden.",
            [
                Query(
                    f"sum by (target, reason) (rate(llmscope_probe_errors_total{{{T}}}{RATE})) > 0",
                    "{{target}} {{reason}}",
                )
            ],
            "reqps",
            stack=True,
        ),
        12,
        8,
    )
    grid.add(
        bargauge(
            "Failed probes in the time range",
            "Failed probes by reason over the dashboard's time range.",
            [
                Query(
                    f"sum by (reason) (increase(llmscope_probe_errors_total{{{T}}}[$__range])) > 0",
                    "{{reason}}",
                    instant=True,
                )
            ],
            "none",
            decimals=0,
        ),
        6,
        8,
    )
    grid.add(
        timeseries(
            "Rate-limit remaining",
            "Remaining requests and tokens the provider announced in its rate-limit headers "
            "on the latest probe (OpenAI x-ratelimit-remaining-*, Anthropic "
            "anthropic-ratelimit-*).",
            [Query(f"llmscope_rate_limit_remaining{{{T}}}", "{{target}} {{kind}}")],
            "short",
            calcs=("min", "lastNotNull"),
        ),
        6,
        8,
    )
