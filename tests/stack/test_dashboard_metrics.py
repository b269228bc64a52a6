"""The dashboards against the metrics that really exist.

Prometheus parses a misspelt metric name happily and returns nothing, so names are checked
here: every name a panel reads is a family the exporter or sidecar exports, or a recording
rule of prometheus/rules/; every family is shown somewhere, or excluded below with the
reason; and the recording rules are read instead of recomputed.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric

from exporter.app import Exporter
from exporter.collectors.gpu import GpuCollector
from exporter.collectors.health import MonitoredCollectors
from exporter.collectors.host import HostCollector
from exporter.collectors.rapl import Rapl, RaplCollector
from exporter.config.types import Config
from spc_rules.sidecar.publish import SidecarCollector
from testkit.engine_families import ENGINES, RUST_STYLE
from tests.stack.dashboards import ROOT, expressions, load_all
from tests.stack.promql import Metric as Name
from tests.stack.promql import scan

RULES_DIR = ROOT / "prometheus" / "rules"
# Families deliberately on no dashboard, with the reason.
NOT_SHOWN = {
    "llmscope_build_info": "build metadata, not a measurement",
    "llmscope_config_last_reload_success_timestamp_seconds": "the reload flag is shown",
    "llmscope_host_cpu_core_utilization_ratio": "per-CPU series exist only with per_cpu: "
    "true; the all-CPU share is shown",
    "llmscope_spc_series": "series counts per chart; the per-series panels show them",
    "llmscope_spc_cycles": "the cycle durations and llmscope_spc_up are shown",
    "llmscope_spc_config_last_reload_successful": "alerted on (LLMscopeConfigReloadFailed)",
    "llmscope_spc_config_last_reload_success_timestamp_seconds": "see the reload flag",
    "llmscope_spc_shift_accepted_timestamp_seconds": "read by LLMscopeSPCShiftAccepted; the "
    "alarm table counts accepted shifts in the time range",
    "llmscope_spc_incident_resolved_timestamp_seconds": "a resolved incident leaves the open "
    "incidents table; its page is annotated",
    "llmscope_spc_incident_target": "read by the rules that fold probe and SLO alerts into an "
    "incident (prometheus/rules)",
    "llmscope_spc_chart_up": "per-chart health, alerted on (LLMscopeSPCChartEvaluationFailing); "
    "the sidecar-wide llmscope_spc_up is shown",
}
# Recording rules of recording.yml that no panel reads, with the reason.
RULES_NOT_SHOWN = {
    "target:llmscope_probe_errors:ratio_rate30m": "the alert's window; panels show 5m",
}


def _series_names(family: Metric) -> set[str]:
    if family.type == "counter":
        return {family.name + "_total"}
    if family.type == "histogram":
        return {family.name + suffix for suffix in ("_bucket", "_sum", "_count")}
    return {family.name}


def _never_started() -> Config:
    raise AssertionError("the exporter is only constructed, never started")


def _families() -> list[Metric]:
    registry = CollectorRegistry()
    Exporter(_never_started, registry)  # registers its families; start() is never called
    families = list(registry.collect())
    collectors = MonitoredCollectors(
        {
            "host": HostCollector(per_cpu=True),
            "gpu": GpuCollector(None, []),
            "rapl": RaplCollector(Rapl()),  # describe() names the family, reads nothing
        }
    )
    families += collectors.describe()
    families += SidecarCollector().describe()
    return families


def _recording_rules(paths: list[Path]) -> set[str]:
    names = set()
    for path in paths:
        for group in yaml.safe_load(path.read_text())["groups"]:
            names |= {rule["record"] for rule in group["rules"] if "record" in rule}
    return names


def _names_read() -> dict[str, str]:
    """Metric name -> where a dashboard first reads it."""
    read: dict[str, str] = {}
    for dashboard in load_all().values():
        for expr in expressions(dashboard):
            for node in scan(expr.expr):
                if isinstance(node, Name):
                    read.setdefault(node.name, expr.where)
    return read


def _engine_series() -> set[str]:
    """What the serving engines export (testkit/engine_families.py, from their sources): the
    serving rows read LiteLLM's rate-limit gauges directly."""
    names: set[str] = set()
    for engine, families in ENGINES.items():
        for f in families:
            if f.kind == "histogram":
                names |= {f.name + s for s in ("_bucket", "_sum", "_count")}
            elif f.kind == "counter" and engine not in RUST_STYLE:
                names.add(f.name + "_total")
            else:
                names.add(f.name)
    return names


FAMILIES = _families()
SERIES = set().union(*(_series_names(f) for f in FAMILIES)) | _engine_series()
RULES = _recording_rules(sorted(RULES_DIR.glob("*.yml")))


def test_every_name_a_panel_reads_exists() -> None:
    unknown = {name: where for name, where in _names_read().items() if name not in SERIES | RULES}
    assert not unknown, f"names no exporter, sidecar or recording rule provides: {unknown}"


def test_every_family_is_shown_or_excluded_with_a_reason() -> None:
    read = set(_names_read())
    # A recording rule level:metric:operation shows its source metric.
    via_rules = {rule.split(":")[1] for rule in read & RULES}
    missing = sorted(
        f.name
        for f in FAMILIES
        if not _series_names(f) & read and f.name not in via_rules | set(NOT_SHOWN)
    )
    assert not missing, f"families on no dashboard: {missing}"
    stale = set(NOT_SHOWN) - {f.name for f in FAMILIES}
    assert not stale, f"exclusions for families that no longer exist: {stale}"
    shown_anyway = {name for name in NOT_SHOWN if _series_names_of(name) & read}
    assert not shown_anyway, f"excluded but shown: {shown_anyway}"


def _series_names_of(name: str) -> set[str]:
    return set().union(*(_series_names(f) for f in FAMILIES if f.name == name))


def test_dashboards_read_the_recording_rules() -> None:
    # Per-target aggregates in recording.yml are computed once by Prometheus: a panel
    # must read them instead of recomputing the expression.
    rules = _recording_rules([RULES_DIR / "recording.yml"])
    assert rules, "prometheus/rules/recording.yml defines no recording rules"
    unused = rules - set(_names_read()) - set(RULES_NOT_SHOWN)
    assert not unused, f"recording rules no panel reads: {sorted(unused)}"
    assert set(RULES_NOT_SHOWN) <= rules


def test_the_spc_control_chart_draws_every_line_and_flag() -> None:
    spc = load_all()["spc.json"]
    chart = [e.expr for e in expressions(spc) if e.panel == "Control chart"]
    for line in (
        "llmscope_spc_last_value",
        "llmscope_spc_center",
        "llmscope_spc_upper_control_limit",
        "llmscope_spc_lower_control_limit",
    ):
        assert any(line in expr for expr in chart), line
    for side in ("upper", "lower"):
        for sigmas in ("1", "2"):
            zone = (f"llmscope_spc_zone_{side}", f'sigmas="{sigmas}"')
            assert any(all(part in expr for part in zone) for expr in chart), zone
    # Every point, rebuilt from the histogram's _sum and _count, not only the latest one.
    assert any('idelta({__name__="${metric}_sum"' in expr for expr in chart)
    flags = [e for e in expressions(spc) if "llmscope_spc_violation_active" in e.expr]
    assert any(e.panel == "Rule flags" for e in flags)
    # The annotation marks the flagged point's own time (the value), not the hold span.
    (marks,) = [a for a in spc["annotations"]["list"] if a.get("name") == "SPC violations"]
    assert "llmscope_spc_violation_last_timestamp_seconds" in marks["expr"]
    assert marks["useValueForTime"] is True
    paging = [e.expr for e in expressions(spc) if e.panel == "Paging statistic"]
    assert any("llmscope_spc_alarm_statistic" in e for e in paging)
    assert any("llmscope_spc_alarm_threshold" in e for e in paging)
    # One sidecar and the chart series, whatever labels a chart groups by.
    for e in expressions(spc):
        if "llmscope_spc_" in e.expr and not e.panel.startswith("variable: "):
            assert 'instance=~"$instance"' in e.expr, e


def test_the_spc_dashboard_draws_the_error_rate_p_chart() -> None:
    spc = load_all()["spc.json"]
    chart = [e.expr for e in expressions(spc) if e.panel == "Error-rate p chart"]
    for name in (
        "llmscope_spc_last_value",
        "llmscope_spc_center",
        "llmscope_spc_upper_control_limit",
        "llmscope_spc_lower_control_limit",
    ):
        (expr,) = [e for e in chart if name + "{" in e]
        assert 'chart="probe_errors"' in expr and 'series=~"$errors"' in expr
    (row,) = [p for p in spc["panels"] if p.get("repeat") == "errors"]
    assert "probe_errors" in row["title"]
    (variable,) = [v for v in spc["templating"]["list"] if v["name"] == "errors"]
    assert 'chart="probe_errors"' in variable["query"]
