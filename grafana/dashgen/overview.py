"""LLMscope / Overview: per target success, latency, throughput, tokens, cost, errors, limits.

Latency quantiles, error ratios, throughput and spend read the recording rules of
prometheus/rules/recording.yml (``target:<metric>:<operation>``); the rest are computed here
with ``$__rate_interval``.
"""

from __future__ import annotations

from grafana.dashgen import incidents
from grafana.dashgen import overview_health as health
from grafana.dashgen import overview_usage as usage
from grafana.dashgen.layout import (
    Grid,
    annotation,
    dashboard,
    datasource_variable,
    query_variable,
)
from grafana.dashgen.panels import Json

UID = "llmscope-overview"


def build() -> Json:
    grid = Grid()
    incidents.open_incidents(grid)
    for section in (
        health.now,
        health.latency,
        health.success,
        usage.throughput,
        usage.cost,
        usage.targets,
    ):
        section(grid)
    return dashboard(
        UID,
        "LLMscope / Overview",
        "Synthetic probes of LLM providers, per target: success, latency, throughput, "
        "tokens, cost, errors and rate limits.",
        [
            datasource_variable(),
            query_variable("target", "Target", "label_values(llmscope_target_info, target)"),
        ],
        grid,
        annotations=[
            incidents.incident_annotation(),
            annotation(
                "Model changes",
                '(increase(llmscope_model_changes_total{target=~"$target"}[$__rate_interval]) > 0)'
                " * on (job, instance, target) group_left (response_model, model_version, "
                "system_fingerprint, model_digest) llmscope_model_info",
                title="{{target}}: model changed",
                text="The provider reports another model behind target {{target}}: "
                "{{response_model}}{{model_version}} {{system_fingerprint}}{{model_digest}}",
                tags="target,response_model,model_version",
                color="orange",
            ),
        ],
    )
