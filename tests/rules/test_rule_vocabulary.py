"""Every metric a rule reads is one the exporter or the SPC sidecar exports, so a renamed
metric breaks this test instead of silently muting an alert."""

from __future__ import annotations

import re
from functools import cache

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from exporter.app import Exporter
from exporter.collectors.gpu import GpuCollector
from exporter.configfile import builtin_config
from spc_rules.sidecar.publish import SidecarCollector
from tests.rules import _bundle as b

_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count", ""),
}
# Label lists and label matchers name labels, not metrics.
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_MATCHERS = re.compile(r"\{[^}]*\}")
_METRIC = re.compile(r"(?<![\w:])((?:gen_ai|llmscope)_[a-z0-9_]+)(?![\w:])")


def _names(families: list[Metric]) -> set[str]:
    return {f.name + s for f in families for s in _SUFFIXES.get(f.type, ("",))}


@cache
def exported_names() -> frozenset[str]:
    registry = CollectorRegistry()
    Exporter(builtin_config, registry)  # registers every exporter family; probes nothing
    families = list(registry.collect())
    families += GpuCollector(None, []).describe()
    families += SidecarCollector().describe()
    return frozenset(_names(families))


def metrics_read_by(expr: str) -> set[str]:
    bare = _MATCHERS.sub("", _LABEL_LISTS.sub("", expr))
    return set(_METRIC.findall(bare))


def test_metric_extraction_skips_labels_and_recorded_names() -> None:
    expr = (
        'sum by (gen_ai_provider_name) (rate(llmscope_probes_total{gen_ai_token_type="x"}[5m]))'
        " / on (target) target:llmscope_cost_usd:increase1h"
    )
    assert metrics_read_by(expr) == {"llmscope_probes_total"}


@pytest.mark.parametrize("rule", b.all_rules(), ids=[r.name for r in b.all_rules()])
def test_rule_reads_only_exported_metrics(rule: b.Rule) -> None:
    assert metrics_read_by(rule.expr) - exported_names() == set()


def test_recorded_names_read_by_rules_are_recorded() -> None:
    recorded = {r.name for r in b.recordings()}
    fixtures = b.read_rules(b.PROMTOOL_TESTS_DIR / "fixtures" / "slo_objectives.yml")
    assert {r.name for r in fixtures} <= recorded
    read = {n for r in b.all_rules() for n in re.findall(r"\btarget:[a-z0-9_]+:[a-z0-9_]+", r.expr)}
    assert read <= recorded
