"""prometheus.yml: what it scrapes, how often, and that the rules' job names match."""

from __future__ import annotations

import re
from typing import Any

from exporter.config.types import DEFAULT_INTERVAL
from tests.rules import _bundle as b


def _config() -> dict[str, Any]:
    config: dict[str, Any] = b.load_yaml(b.PROMETHEUS_CONFIG)
    return config


def _jobs() -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in _config()["scrape_configs"]}


def _targets(job: dict[str, Any]) -> list[str]:
    return [t for static in job["static_configs"] for t in static["targets"]]


def test_scrapes_exporter_sidecar_prometheus_and_alertmanager() -> None:
    jobs = _jobs()
    assert _targets(jobs["llmscope-exporter"]) == ["exporter:8465"]
    assert _targets(jobs["llmscope-spc"]) == ["spc:8466"]
    assert _targets(jobs["prometheus"]) == ["localhost:9090"]
    assert _targets(jobs["alertmanager"]) == ["alertmanager:9093"]


def test_sends_alerts_to_alertmanager_and_loads_the_rules_directory() -> None:
    config = _config()
    managers = config["alerting"]["alertmanagers"]
    assert [t for m in managers for s in m["static_configs"] for t in s["targets"]] == [
        "alertmanager:9093"
    ]
    assert config["rule_files"] == ["rules/*.yml"]


def test_exporter_is_scraped_more_often_than_the_default_probe_interval() -> None:
    # At most one probe between two scrapes: the sidecar then reads exact individuals.
    scrape = b.duration_seconds(_jobs()["llmscope-exporter"]["scrape_interval"])
    assert scrape < DEFAULT_INTERVAL


def test_rules_select_only_jobs_that_prometheus_scrapes() -> None:
    used = {job for rule in b.all_rules() for job in re.findall(r'job\s*=\s*"([^"]+)"', rule.expr)}
    assert used
    assert used <= set(_jobs())
