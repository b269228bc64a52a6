"""Issue 7's path with real servers: a latency shift becomes an Alertmanager notification.

simulated provider -> exporter -> Prometheus (1 s scrape and evaluation, the real rules) ->
SPC sidecar -> Prometheus alert -> Alertmanager (the real routing) -> a webhook in this test.
The simulated target's durations triple at a scripted time; the page must come from the
calibrated paging detector (an alarm episode, no `for`) as the incident it belongs to (scope
target, its subject and evidence), and arrive within 15 s of the first shifted scrape; no SPC
alert may start before the shift. The test prints the time split into the detector's decision
(points needed) and the pipeline (scrapes, sidecar cycle, rule evaluation, Alertmanager's
group_wait).
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from testkit.realservers import alertmanager, free_port, prometheus
from tests.exporter.exporter_process import exporter_process
from tests.rules._webhook import webhook_sink
from tests.sidecar.process import sidecar_process

ROOT = Path(__file__).resolve().parents[2]
SHIFT_AFTER = 45.0  # seconds after the target's first probe
# Seed 30's first 150 draws stay within 2.2 sigma of their mean: the baseline holds no
# point that rule 1 could flag by chance, so "none before the shift" is deterministic.
EXPORTER_CONFIG = f"""
targets:
  - name: shifty
    provider: simulated
    model: sim-e2e
    seed: 30
    interval: 500ms
    ttft: 150ms
    ttft_spread: 0.15
    gap: 10ms
    gap_spread: 0.2
    max_tokens: 4
    scenario: {{kind: mean_shift, after: {SHIFT_AFTER:g}s, factor: 3}}
"""
SPC_CONFIG = """
global: {interval: 1s, evaluation: 10s, baseline: 40s, hold: 5m, min_points: 20}
charts:
  - name: duration
    metric: gen_ai_client_operation_duration_seconds
    selector: '{error_type=""}'
    by: [target]
    transform: log
    rules: [1]
"""


def alertmanager_config(webhook_url: str) -> str:
    """The shipped Alertmanager config, with its webhook pointed at this test."""
    text = (ROOT / "alertmanager" / "alertmanager.yml").read_text()
    return text.replace("http://webhook:5001/", webhook_url)


def prometheus_config(exporter: str, spc: str, alertmanager: str) -> str:
    """The shipped prometheus.yml, with 1 s intervals and loopback addresses."""
    config = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    addresses = {"llmscope-exporter": exporter, "llmscope-spc": spc}
    for job in config["scrape_configs"]:
        job.pop("scrape_interval", None)
        job.pop("scrape_timeout", None)
        if job["job_name"] in addresses:
            job["static_configs"] = [{"targets": [addresses[job["job_name"]]]}]
    config["scrape_configs"] = [j for j in config["scrape_configs"] if j["job_name"] in addresses]
    config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [alertmanager]}]}]
    return yaml.safe_dump(config)


def rules() -> dict[str, str]:
    return {f"rules/{p.name}": p.read_text() for p in (ROOT / "prometheus" / "rules").glob("*.yml")}


def first_shifted_scrape(prom: Any, start: float) -> float:
    """The Prometheus timestamp of the first scrape whose new probes took over 2x the median."""
    series = prom.query(
        'gen_ai_client_operation_duration_seconds_sum{target="shifty",error_type=""}[10m]'
    )
    counts = prom.query(
        'gen_ai_client_operation_duration_seconds_count{target="shifty",error_type=""}[10m]'
    )
    sums, cnts = series[0]["values"], counts[0]["values"]
    means = []
    for (_, s0), (t1, s1), (_, c0), (_, c1) in zip(sums, sums[1:], cnts, cnts[1:], strict=False):
        n = float(c1) - float(c0)
        if n > 0:
            means.append((float(t1), (float(s1) - float(s0)) / n))
    baseline = sorted(m for t, m in means if t < start + SHIFT_AFTER - 5)
    median = baseline[len(baseline) // 2]
    return next(t for t, m in means if m > 2 * median)


def spc_alerts(notifications: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The target's SPC alerts and the incidents that name it."""
    return [
        a
        for n in notifications
        for a in n["alerts"]
        if (
            a["labels"]["alertname"].startswith("LLMscopeSPC")
            and a["labels"].get("target") == "shifty"
        )
        or (
            a["labels"]["alertname"].startswith("LLMscopeIncident")
            and a["labels"].get("subject") == "shifty"
        )
    ]


def episode_start(prom: Any) -> float:
    """When the sidecar's page episode began: the timestamp of the point that opened it."""
    got = prom.query('llmscope_spc_alarm_started_timestamp_seconds{severity="page"}')
    return float(got[0]["value"][1])


def test_mean_shift_pages_from_the_calibrated_detector(tmp_path: Path) -> None:
    (tmp_path / "llmscope.yml").write_text(EXPORTER_CONFIG)
    (tmp_path / "spc.yml").write_text(SPC_CONFIG)
    start = time.time()
    with (
        webhook_sink() as sink,
        alertmanager(alertmanager_config(sink.url)) as am,
        exporter_process(tmp_path / "llmscope.yml", tmp_path) as exporter,
    ):
        exporter_address = exporter.url.removeprefix("http://")
        spc_port = free_port()
        prom_config = prometheus_config(
            exporter_address, f"127.0.0.1:{spc_port}", am.url.removeprefix("http://")
        )
        # The sidecar needs Prometheus' URL and Prometheus the sidecar's: fix its port first.
        with prometheus(prom_config, rules=rules()) as prom:
            spc_config = tmp_path / "spc.yml"
            with sidecar_process(spc_config, prom.url, spc_port, tmp_path / "spc.log"):
                notifications = sink.wait_for(
                    lambda got: any(_is_page(a) for a in spc_alerts(got)),
                    timeout=SHIFT_AFTER + 150,
                )
                received = time.time()
                shifted = first_shifted_scrape(prom, start)
                decided = episode_start(prom)

    alerts = spc_alerts(notifications)
    page = next(a for a in alerts if _is_page(a))
    # The one page is the incident (docs/incidents.md), scope target, with its evidence.
    assert page["labels"]["severity"] == "critical"
    assert (page["labels"]["scope"], page["labels"]["subject"]) == ("target", "shifty")
    assert page["labels"]["incident"] == "target:shifty"
    assert page["annotations"]["summary"].startswith("target shifty: moved ")
    assert "duration" in page["annotations"]["summary"]
    assert [a for a in alerts if a["labels"]["severity"] == "critical"] == [page]
    # Nothing started before the shift: every SPC alert of the target began after it.
    for alert in alerts:
        began = datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00")).timestamp()
        assert began >= shifted - 1.0, alert
    print(
        f"\nshift (first shifted scrape) to notification: {received - shifted:.1f} s = "
        f"decision {decided - shifted:.1f} s (points the detector needed) + "
        f"pipeline {received - decided:.1f} s (scrapes, sidecar cycle, rules, Alertmanager)"
    )


def _is_page(alert: dict[str, Any]) -> bool:
    return bool(alert["labels"]["alertname"] == "LLMscopeIncident")
