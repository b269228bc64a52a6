"""The Prometheus side of the bundle: promtool finds nothing, every alert is complete,
documented and tested, and the promtool tests cannot pass vacuously."""

from __future__ import annotations

import re

import pytest

from tests.rules import _bundle as b
from tests.rules._tools import promtool

ALERTS = b.alerts()
ALERT_NAMES = [a.name for a in ALERTS]
# An alert whose value says nothing: absent() yields 1 and up yields 0.
# Alerts whose description has no value to give (the incident's evidence is its summary).
VALUELESS = {"LLMscopeExporterDown", "LLMscopeIncident", "LLMscopeIncidentTicket"}


def test_promtool_check_config_finds_nothing_and_loads_every_rule_file() -> None:
    run = promtool(
        "check", "config", "--lint=all", "--lint-fatal", str(b.PROMETHEUS_CONFIG), cwd=b.ROOT
    )
    assert run.returncode == 0, run.report()
    assert "WARNING" not in run.output and "FAILED" not in run.output, run.report()
    # rule_files is relative to the config: it must reach the real rules directory.
    assert f"SUCCESS: {len(b.rule_files())} rule files found" in run.output, run.report()


def test_promtool_check_rules_with_all_lints_finds_nothing() -> None:
    files = [str(p) for p in b.rule_files()]
    run = promtool("check", "rules", "--lint=all", "--lint-fatal", *files, cwd=b.ROOT)
    assert run.returncode == 0, run.report()
    assert "WARNING" not in run.output and "FAILED" not in run.output, run.report()


def test_promtool_unit_tests_pass() -> None:
    files = b.promtool_test_files()
    assert files, "no promtool test files in prometheus/tests/"
    run = promtool("test", "rules", *(p.name for p in files), cwd=b.PROMTOOL_TESTS_DIR)
    assert run.returncode == 0, run.report()
    assert run.output.count("SUCCESS") == len(files), run.report()


def test_every_promtool_test_group_sets_interval() -> None:
    # promtool 2.42 reads no input samples without it, and alert tests then pass vacuously.
    missing = [
        f"{path.name}: {group.get('name', '?')}"
        for path in b.promtool_test_files()
        for group in b.load_yaml(path)["tests"]
        if "interval" not in group
    ]
    assert not missing


# Decisions the SPC sidecar makes (and keeps open as episodes or holds): no `for`, which
# would only delay them, but keep_firing_for against a missed scrape of the sidecar.
SIDECAR_DECIDED = re.compile(r"llmscope_spc_(alarm|violation|incident)_active\b")


@pytest.mark.parametrize("alert", ALERTS, ids=ALERT_NAMES)
def test_alert_has_for_severity_and_annotations(alert: b.Rule) -> None:
    # What an alert folds away (after `unless`) does not make it the sidecar's decision.
    if SIDECAR_DECIDED.search(alert.expr.split("unless")[0]):
        assert alert.for_ is None, "the sidecar already decided: no for"
        assert alert.keep_firing_for and b.duration_seconds(alert.keep_firing_for) > 0
    else:
        assert alert.for_ is not None and b.duration_seconds(alert.for_) > 0, "needs a for"
    assert alert.labels.get("severity") in b.SEVERITIES
    for key in ("summary", "summary_resolved", "description", "runbook_url"):
        assert alert.annotations.get(key, "").strip(), f"missing annotation {key}"
    # The RESOLVED notification says the thing is back: the last firing value is stale then.
    assert "$value" not in alert.annotations["summary_resolved"]
    description = alert.annotations["description"]
    assert "$labels." in description
    if alert.name not in VALUELESS:
        assert "$value" in description


@pytest.mark.parametrize("alert", ALERTS, ids=ALERT_NAMES)
def test_alert_runbook_url_points_at_an_existing_runbook_section(alert: b.Rule) -> None:
    url = alert.annotations["runbook_url"]
    base, _, anchor = url.partition("#")
    assert base == b.RUNBOOK_BASE
    assert anchor == b.github_anchor(alert.name)
    assert anchor in {b.github_anchor(h) for h in b.runbook_headings()}


def test_every_alert_runbook_section_belongs_to_an_alert() -> None:
    sections = [h for h in b.runbook_headings() if h.startswith("LLMscope")]
    assert sorted(set(sections) - set(ALERT_NAMES)) == []
    assert len(sections) == len(set(sections)), "a runbook section appears twice"


@pytest.mark.parametrize("alert", ALERTS, ids=ALERT_NAMES)
def test_alert_fires_in_a_promtool_test_and_stays_quiet_in_another(alert: b.Rule) -> None:
    cases = [e for e in b.alert_expectations() if e.alertname == alert.name]
    assert any(e.firing for e in cases), "no promtool test expects it to fire"
    assert any(not e.firing for e in cases), "no promtool test expects it to stay quiet"
    # Expectations carry the rule's severity, so a test cannot pass against another rule.
    for case in cases:
        assert all(f.get("severity") == alert.labels["severity"] for f in case.firing)


@pytest.mark.parametrize("alert", ALERTS, ids=ALERT_NAMES)
def test_alert_about_a_target_names_it_in_summary_and_description(alert: b.Rule) -> None:
    fired = [f for e in b.alert_expectations() if e.alertname == alert.name for f in e.firing]
    if any("target" in labels for labels in fired):
        assert "$labels.target" in alert.annotations["description"]
        assert "$labels.target" in alert.annotations["summary"]


def test_promtool_tests_name_only_existing_alerts() -> None:
    # A test of a misspelled alert expecting silence would pass forever.
    unknown = {e.alertname for e in b.alert_expectations()} - set(ALERT_NAMES)
    assert unknown == set()


def test_alert_names_are_unique() -> None:
    assert len(ALERT_NAMES) == len(set(ALERT_NAMES))


# level:metric:operations (https://prometheus.io/docs/practices/rules/).
_RECORD_NAME = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z0-9][a-z0-9_]*$")


@pytest.mark.parametrize("rule", b.recordings(), ids=[r.name for r in b.recordings()])
def test_recording_rule_name_follows_level_metric_operations(rule: b.Rule) -> None:
    assert _RECORD_NAME.match(rule.name)
    level, metric, _ = rule.name.split(":")
    # Per probe target (recording.yml), or per SPC chart series (spc.yml's zone lines,
    # which keep the sidecar's chart and series labels).
    assert level in {"target", "chart_series"}
    assert level == "target" or metric.startswith("llmscope_spc_"), rule.name
    # _total, _bucket, _sum and _count are stripped from the metric part.
    assert not metric.endswith(("_total", "_bucket", "_sum", "_count"))
