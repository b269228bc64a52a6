"""Overview sections about usage: throughput and tokens, cost and budgets, the targets."""

from __future__ import annotations

from grafana.dashgen.layout import Grid, row
from grafana.dashgen.panels import (
    OK_FAILED,
    Query,
    bargauge,
    stat,
    state_timeline,
    table,
    thresholds,
    timeseries,
    value_map,
)
from grafana.dashgen.promql import RATE, T, histogram_quantile


def throughput(grid: Grid) -> None:
    grid.row(row("Throughput and tokens"))
    grid.add(
        timeseries(
            "Output tokens per second",
            "Mean decoding speed: output tokens over the time after the first chunk, over 5 "
            "minutes (recording rule target:llmscope_probe_output_tokens_per_second:mean5m). "
            "Unit: tokens per second.",
            [Query(f"target:llmscope_probe_output_tokens_per_second:mean5m{{{T}}}", "{{target}}")],
            "short",
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Probes and skipped probes per second",
            "Probes finished per second, and scheduled probes skipped because the previous "
            "one still ran or a Retry-After asked to wait.",
            [
                Query(
                    f"sum by (target) (rate(llmscope_probes_total{{{T}}}{RATE}))",
                    "{{target}} probes",
                ),
                Query(
                    f"sum by (target) (rate(llmscope_probe_skipped_total{{{T}}}{RATE}))",
                    "{{target}} skipped",
                ),
            ],
            "reqps",
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Schedule lateness p95",
            "How late probes started against their schedule: the concurrency cap or a busy "
            "event loop delays them. Lateness adds nothing to the measured latency.",
            [
                Query(
                    histogram_quantile(0.95, "llmscope_probe_schedule_lateness_seconds"),
                    "{{target}}",
                )
            ],
            "s",
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Tokens per second by type",
            "Tokens used by probes per second, input and output; source says whether the "
            "provider reported them or the exporter estimated them (one per chunk, four "
            "characters per input token). Unit: tokens per second.",
            [
                Query(
                    "sum by (target, gen_ai_token_type, source) "
                    f"(rate(llmscope_tokens_total{{{T}}}{RATE}))",
                    "{{target}} {{gen_ai_token_type}} ({{source}})",
                )
            ],
            "short",
        ),
        12,
        8,
    )
    usage = "gen_ai_client_token_usage"
    grid.add(
        timeseries(
            "Tokens per probe (reported)",
            "Mean tokens per probe as the provider reported them, by type "
            "(gen_ai_client_token_usage; estimates are not included). Unit: tokens.",
            [
                Query(
                    f"sum by (target, gen_ai_token_type) (rate({usage}_sum{{{T}}}{RATE})) / "
                    f"sum by (target, gen_ai_token_type) (rate({usage}_count{{{T}}}{RATE}))",
                    "{{target}} {{gen_ai_token_type}}",
                )
            ],
            "short",
        ),
        12,
        8,
    )


def cost(grid: Grid) -> None:
    grid.row(row("Cost"))
    grid.add(
        bargauge(
            "Spend, last hour",
            "US dollars spent by each target's probes over the last hour (recording rule "
            "target:llmscope_cost_usd:increase1h). Only targets with a known price.",
            [Query(f"target:llmscope_cost_usd:increase1h{{{T}}}", "{{target}}", instant=True)],
            "currencyUSD",
        ),
        6,
        8,
    )
    grid.add(
        bargauge(
            "Spend, last 24 hours",
            "US dollars spent by each target's probes over the last 24 hours (recording "
            "rule target:llmscope_cost_usd:increase1d).",
            [Query(f"target:llmscope_cost_usd:increase1d{{{T}}}", "{{target}}", instant=True)],
            "currencyUSD",
        ),
        6,
        8,
    )
    grid.add(
        timeseries(
            "Spend rate per hour",
            "Current spend rate in US dollars per hour, by target.",
            [
                Query(
                    f"sum by (target) (rate(llmscope_cost_usd_total{{{T}}}{RATE})) * 3600",
                    "{{target}}",
                )
            ],
            "currencyUSD",
        ),
        6,
        8,
    )
    grid.add(
        timeseries(
            "Cost per probe",
            "Mean US dollars per finished probe, by target.",
            [
                Query(
                    f"sum by (target) (rate(llmscope_cost_usd_total{{{T}}}{RATE})) / "
                    f"sum by (target) (rate(llmscope_probes_total{{{T}}}{RATE}))",
                    "{{target}}",
                )
            ],
            "currencyUSD",
        ),
        6,
        8,
    )
    grid.add(
        bargauge(
            "Daily budget used",
            "Share of each target's daily budget spent since 00:00 UTC, in US dollars and in "
            "tokens. At 100% the cost guard pauses the target until the next UTC day.",
            [
                Query(
                    f"max by (target) (llmscope_budget_spent_today_usd{{{T}}}) / "
                    f"max by (target) (llmscope_budget_daily_usd{{{T}}})",
                    "{{target}} USD",
                    instant=True,
                ),
                Query(
                    f"max by (target) (llmscope_budget_spent_today_tokens{{{T}}}) / "
                    f"max by (target) (llmscope_budget_daily_tokens{{{T}}})",
                    "{{target}} tokens",
                    instant=True,
                ),
            ],
            "percentunit",
            max_value=1,
            steps=thresholds((None, "green"), (0.8, "orange"), (1, "red")),
        ),
        24,
        6,
    )


def targets(grid: Grid) -> None:
    grid.row(row("Targets"))
    grid.add(
        table(
            "Targets",
            "Every configured target: provider, model, endpoint (scheme and host only), the "
            "latest probe's result and HTTP status (0: no response), how long ago it "
            "started, and the configured probe interval.",
            [
                Query(
                    f"max by (target, provider, model, endpoint) (llmscope_target_info{{{T}}})",
                    instant=True,
                ),
                Query(f"max by (target) (llmscope_probe_success{{{T}}})", instant=True),
                Query(f"max by (target) (llmscope_probe_http_status_code{{{T}}})", instant=True),
                Query(
                    f"time() - max by (target) (llmscope_probe_last_timestamp_seconds{{{T}}})",
                    instant=True,
                ),
                Query(f"max by (target) (llmscope_target_interval_seconds{{{T}}})", instant=True),
            ],
            "none",
            columns={
                "B": ("latest ok", "bool"),
                "C": ("HTTP status", "none"),
                "D": ("last probe", "s"),
                "E": ("interval", "s"),
            },
            hide=["Value #A"],
        ),
        12,
        8,
    )
    grid.add(
        state_timeline(
            "Idle and paused targets",
            "Targets that are not probed on purpose, with the reason: missing_api_key (the "
            "key's environment variable is unset), budget_exhausted, and cost-guard pauses.",
            [
                Query(
                    f"max by (target, reason) (llmscope_target_idle{{{T}}})",
                    "{{target}} idle: {{reason}}",
                ),
                Query(
                    f"max by (target) (llmscope_budget_paused{{{T}}})",
                    "{{target}} budget paused",
                ),
            ],
            value_map({0: ("active", "green"), 1: ("idle", "orange")}),
        ),
        12,
        8,
    )
    grid.add(
        stat(
            "Config reloads",
            "Whether the exporter's last configuration reload succeeded; a failed reload "
            "keeps the previous configuration running.",
            [Query("min(llmscope_config_last_reload_successful)", instant=True)],
            "none",
            mappings=OK_FAILED,
            steps=thresholds((None, "red"), (1, "green")),
        ),
        6,
        5,
    )
    grid.add(
        timeseries(
            "Probes in flight",
            "Probes running at once in each exporter (capped by global.max_concurrency).",
            [Query("sum by (instance) (llmscope_probes_in_flight)", "{{instance}}")],
            "none",
        ),
        18,
        5,
    )
