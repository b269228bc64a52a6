"""The monitoring bundle's files (Prometheus rules, promtool tests, runbooks), parsed for
the checks in this package."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_CONFIG = ROOT / "prometheus" / "prometheus.yml"
RULES_DIR = ROOT / "prometheus" / "rules"
PROMTOOL_TESTS_DIR = ROOT / "prometheus" / "tests"
ALERTMANAGER_CONFIG = ROOT / "alertmanager" / "alertmanager.yml"
TEMPLATES_DIR = ROOT / "alertmanager" / "templates"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
RUNBOOK_BASE = "https://github.com/llmscope/llmscope/blob/main/docs/runbooks.md"
SEVERITIES = ("critical", "warning", "info")

_DURATION = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str  # "alert" or "record"
    expr: str
    source: str  # file name, for messages
    for_: str | None = None
    keep_firing_for: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertExpectation:
    """One alert_rule_test case of a promtool test file."""

    alertname: str
    firing: tuple[dict[str, str], ...]  # exp_labels of each expected firing alert
    source: str


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yml"))


def promtool_test_files() -> list[Path]:
    return sorted(PROMTOOL_TESTS_DIR.glob("*_test.yml"))


def read_rules(path: Path) -> list[Rule]:
    rules = []
    for group in load_yaml(path)["groups"]:
        for item in group["rules"]:
            kind = "alert" if "alert" in item else "record"
            rules.append(
                Rule(
                    name=item[kind],
                    kind=kind,
                    expr=item["expr"],
                    source=path.name,
                    for_=item.get("for"),
                    keep_firing_for=item.get("keep_firing_for"),
                    labels=dict(item.get("labels") or {}),
                    annotations=dict(item.get("annotations") or {}),
                )
            )
    return rules


@cache
def all_rules() -> tuple[Rule, ...]:
    return tuple(rule for path in rule_files() for rule in read_rules(path))


def alerts() -> list[Rule]:
    return [rule for rule in all_rules() if rule.kind == "alert"]


def recordings() -> list[Rule]:
    return [rule for rule in all_rules() if rule.kind == "record"]


@cache
def alert_expectations() -> tuple[AlertExpectation, ...]:
    found = []
    for path in promtool_test_files():
        for group in load_yaml(path)["tests"]:
            for case in group.get("alert_rule_test") or []:
                firing = tuple(
                    dict(a.get("exp_labels") or {}) for a in case.get("exp_alerts") or []
                )
                found.append(AlertExpectation(case["alertname"], firing, path.name))
    return tuple(found)


def duration_seconds(text: str) -> float:
    """A Prometheus duration such as 5m or 1h30m, in seconds."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _SECONDS[u] for n, u in parts)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces
    turned into hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def runbook_headings() -> list[str]:
    text = RUNBOOKS.read_text(encoding="utf-8")
    return [m.group(1) for m in re.finditer(r"^#{1,6} +(.+?) *#*$", text, re.MULTILINE)]
