"""alertmanager.yml: amtool finds nothing, every alert routes by its severity, inhibit rules
name real alerts and labels, and the message templates render."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.rules import _bundle as b
from tests.rules._tools import Run, amtool

ALERTS = b.alerts()


def _config() -> dict[str, Any]:
    config: dict[str, Any] = b.load_yaml(b.ALERTMANAGER_CONFIG)
    return config


def _route(*labels: str, expect: str) -> Run:
    return amtool(
        "config",
        "routes",
        "test",
        f"--config.file={b.ALERTMANAGER_CONFIG}",
        f"--verify.receivers={expect}",
        *labels,
        cwd=b.ROOT,
    )


def test_amtool_check_config_passes_and_loads_the_templates() -> None:
    run = amtool("check-config", str(b.ALERTMANAGER_CONFIG), cwd=b.ROOT)
    assert run.returncode == 0, run.report()
    assert "1 templates" in run.output, run.report()


def _uncomment_examples(text: str) -> str:
    """Turn the commented Slack and email receiver examples into live configuration."""
    out, indent = [], None
    for line in text.splitlines():
        start = re.match(r"^(\s*)# (slack_configs|email_configs):", line)
        if start:
            indent = start.group(1)
        elif indent is None or not line.startswith(indent + "#   "):
            indent = None
        out.append(line.replace("# ", "", 1) if indent is not None else line)
    return "\n".join(out) + "\n"


def test_commented_slack_and_email_examples_are_valid_once_uncommented(tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(_uncomment_examples(b.ALERTMANAGER_CONFIG.read_text()))
    (tmp_path / "templates").symlink_to(b.TEMPLATES_DIR)
    run = amtool("check-config", str(config), cwd=tmp_path)
    assert run.returncode == 0, run.report()
    critical = next(r for r in b.load_yaml(config)["receivers"] if r["name"] == "llmscope-critical")
    assert {"webhook_configs", "slack_configs", "email_configs"} <= set(critical)


def test_every_receiver_posts_to_the_compose_webhook() -> None:
    urls = {w["url"] for r in _config()["receivers"] for w in r.get("webhook_configs", [])}
    assert urls == {"http://webhook:5001/"}


@pytest.mark.parametrize("alert", ALERTS, ids=[a.name for a in ALERTS])
def test_alert_routes_to_the_receiver_of_its_severity(alert: b.Rule) -> None:
    severity = alert.labels["severity"]
    run = _route(
        f"alertname={alert.name}",
        f"severity={severity}",
        "target=chat",
        "chart=duration",
        expect=f"llmscope-{severity}",
    )
    assert run.returncode == 0, run.report()


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (
            ["alertname=LLMscopeProbeFailing", "severity=critical", "target=chat"],
            "llmscope-critical",
        ),
        (
            ["alertname=LLMscopeSPCOutOfControl", "severity=critical", "series=target=chat"],
            "llmscope-critical",
        ),
        (["alertname=LLMscopeSPCSustainedShift", "severity=warning"], "llmscope-warning"),
        (["alertname=LLMscopeSPCBeyondLimits", "severity=info", "rule=1"], "llmscope-info"),
        (["alertname=LLMscopeSPCShiftOrTrend", "severity=info", "rule=2"], "llmscope-info"),
        (["alertname=LLMscopeSPCUnusualVariation", "severity=info", "rule=7"], "llmscope-info"),
        (["alertname=LLMscopeGPUHot", "severity=warning", "uuid=GPU-1"], "llmscope-warning"),
        (["alertname=SomethingElse"], "llmscope-default"),
        (["alertname=SomethingElse", "severity=page"], "llmscope-default"),
    ],
)
def test_label_set_routes_to_receiver(labels: list[str], receiver: str) -> None:
    run = _route(*labels, expect=receiver)
    assert run.returncode == 0, run.report()


def _matcher_names(matchers: list[str]) -> list[str]:
    """Alert names an inhibit rule's alertname matcher selects."""
    (matcher,) = [m for m in matchers if m.startswith("alertname")]
    parsed = re.fullmatch(r'alertname(=~|=)"(.*)"', matcher)
    assert parsed, f"unexpected matcher {matcher}"
    op, value = parsed.groups()
    pattern = re.compile(value if op == "=~" else re.escape(value))
    return [a.name for a in ALERTS if pattern.fullmatch(a.name)]


def _fired_labels(names: list[str]) -> list[dict[str, str]]:
    return [f for e in b.alert_expectations() if e.alertname in names for f in e.firing]


@pytest.mark.parametrize(
    "rule", _config()["inhibit_rules"], ids=lambda r: str(r["source_matchers"])
)
def test_inhibit_rule_names_real_alerts_that_carry_its_equal_labels(rule: dict[str, Any]) -> None:
    sources = _matcher_names(rule["source_matchers"])
    targets = _matcher_names(rule["target_matchers"])
    assert sources and targets
    # A label missing on both sides reads "" == "" and would inhibit everything.
    for labels in _fired_labels(sources) + _fired_labels(targets):
        assert set(rule["equal"]) <= set(labels), labels


def _render(template: str, data: dict[str, Any], tmp_path: Path) -> str:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data))
    run = amtool(
        "template",
        "render",
        f"--template.glob={b.TEMPLATES_DIR}/*.tmpl",
        f"--template.data={path}",
        f'--template.text={{{{ template "{template}" . }}}}',
        cwd=b.ROOT,
    )
    assert run.returncode == 0, run.report()
    return run.output


def _notification(status: str, severity: str) -> dict[str, Any]:
    labels = {
        "alertname": "LLMscopeProbeFailing",
        "severity": severity,
        "target": "chat",
        "provider": "openai",
        "model": "gpt-4o-mini",
    }
    alert = {
        "status": status,
        "labels": labels,
        "annotations": {
            "summary": "Probes of chat are failing.",
            "summary_resolved": "Probes of chat succeed again.",
            "description": "Every probe of target chat has failed for 5 minutes.",
            "runbook_url": f"{b.RUNBOOK_BASE}#llmscopeprobefailing",
        },
        "startsAt": "2025-01-02T03:04:05Z",
        "endsAt": "2025-01-02T04:04:05Z",
        "generatorURL": "http://prometheus:9090/graph",
    }
    return {
        "receiver": f"llmscope-{severity}",
        "status": status,
        "alerts": [alert],
        "groupLabels": {"alertname": labels["alertname"], "target": "chat"},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
    }


def test_title_names_status_count_target_provider_and_model(tmp_path: Path) -> None:
    title = _render("llmscope.title", _notification("firing", "critical"), tmp_path)
    assert title == "[FIRING:1] LLMscopeProbeFailing chat (openai gpt-4o-mini)"
    resolved = _render("llmscope.title", _notification("resolved", "critical"), tmp_path)
    assert resolved == "[RESOLVED] LLMscopeProbeFailing chat (openai gpt-4o-mini)"


def test_text_carries_severity_summary_description_and_runbook(tmp_path: Path) -> None:
    text = _render("llmscope.text", _notification("firing", "critical"), tmp_path)
    assert "[CRITICAL] Probes of chat are failing." in text
    assert "Every probe of target chat has failed for 5 minutes." in text
    assert f"Runbook: {b.RUNBOOK_BASE}#llmscopeprobefailing" in text
    assert "Since 2025-01-02 03:04:05 UTC" in text
    slack = _render("llmscope.slack.text", _notification("firing", "critical"), tmp_path)
    assert f"<{b.RUNBOOK_BASE}#llmscopeprobefailing|Runbook>" in slack


def test_a_resolved_text_says_what_is_back_instead_of_the_firing_text(tmp_path: Path) -> None:
    for template in ("llmscope.text", "llmscope.slack.text"):
        text = _render(template, _notification("resolved", "critical"), tmp_path)
        assert "[CRITICAL] Probes of chat succeed again." in text, text
        assert "are failing" not in text and "has failed" not in text, text
    plain = _render("llmscope.text", _notification("resolved", "critical"), tmp_path)
    assert "Resolved at 2025-01-02 04:04:05 UTC" in plain
    other = _notification("resolved", "critical")
    del other["alerts"][0]["annotations"]["summary_resolved"]  # not an LLMscope alert
    assert "Resolved: Probes of chat are failing." in _render("llmscope.text", other, tmp_path)


@pytest.mark.parametrize(
    ("status", "severity", "color"),
    [
        ("firing", "critical", "danger"),
        ("firing", "warning", "warning"),
        ("resolved", "critical", "good"),
    ],
)
def test_slack_color_follows_status_and_severity(
    status: str, severity: str, color: str, tmp_path: Path
) -> None:
    assert _render("llmscope.slack.color", _notification(status, severity), tmp_path) == color
