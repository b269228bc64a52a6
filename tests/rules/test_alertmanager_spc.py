"""SPC alerts in the real Alertmanager with the shipped alertmanager.yml (issues 12 and 18):
alerts of two charts of one target are separate notifications (grouped by chart series, so a
page never waits behind another chart's group), and a page inhibits the lesser alerts of its
own chart series only, also for a chart grouped by labels other than ``target``."""

from __future__ import annotations

import json
import time
from typing import Any

from testkit.realservers import alertmanager, http_get
from tests.rules import _bundle as b
from tests.rules._webhook import webhook_sink
from tests.rules.test_alertmanager_inhibition import (
    COMPOSE_TEMPLATES,
    COMPOSE_WEBHOOK,
    _alert,
    _post,
)

SPC = {"job": "llmscope-spc", "instance": "spc:8466", "direction": "up"}


def _config(url: str) -> str:
    text = b.ALERTMANAGER_CONFIG.read_text().replace(COMPOSE_WEBHOOK, url)
    return text.replace(COMPOSE_TEMPLATES, str(b.TEMPLATES_DIR / "*.tmpl"))


def _spc(alertname: str, severity: str, chart: str, series: str, **more: str) -> dict[str, Any]:
    labels = {"alertname": alertname, "severity": severity, "chart": chart, "series": series}
    target = more.pop("target", "")
    alert = _alert(**labels, **SPC, **more, target=target)
    alert["labels"] = {k: v for k, v in alert["labels"].items() if v}
    return alert


def test_pages_of_two_charts_of_one_target_are_separate_groups() -> None:
    duration = _spc("LLMscopeSPCOutOfControl", "critical", "duration", "target=chat", target="chat")
    ttfc = _spc(
        "LLMscopeSPCOutOfControl", "critical", "time_to_first_chunk", "target=chat", target="chat"
    )
    with webhook_sink() as sink, alertmanager(_config(sink.url)) as am:
        _post(am.url, [duration, ttfc])
        got = sink.wait_for(lambda n: len(n) >= 2)
    groups = sorted((n["groupLabels"]["chart"], len(n["alerts"])) for n in got)
    assert groups == [("duration", 1), ("time_to_first_chunk", 1)]
    assert all(n["groupLabels"]["series"] == "target=chat" for n in got)


def _states(url: str) -> dict[tuple[str, str], str]:
    alerts = json.loads(http_get(f"{url}/api/v2/alerts"))
    return {(a["labels"]["alertname"], a["labels"]["series"]): a["status"]["state"] for a in alerts}


def test_a_page_inhibits_its_own_series_only_when_the_chart_groups_by_model() -> None:
    # A chart over application traffic, grouped by model: no target label at all.
    page_a = _spc("LLMscopeSPCOutOfControl", "critical", "app", "model=a")
    ticket_a = _spc("LLMscopeSPCSustainedShift", "warning", "app", "model=a")
    rule_a = _spc("LLMscopeSPCBeyondLimits", "info", "app", "model=a", rule="1")
    rule_b = _spc("LLMscopeSPCBeyondLimits", "info", "app", "model=b", rule="1")
    want = {
        ("LLMscopeSPCOutOfControl", "model=a"): "active",
        ("LLMscopeSPCSustainedShift", "model=a"): "suppressed",
        ("LLMscopeSPCBeyondLimits", "model=a"): "suppressed",
        ("LLMscopeSPCBeyondLimits", "model=b"): "active",
    }
    with webhook_sink() as sink, alertmanager(_config(sink.url)) as am:
        _post(am.url, [page_a])
        deadline = time.monotonic() + 30
        while _states(am.url).get(("LLMscopeSPCOutOfControl", "model=a")) != "active":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        _post(am.url, [ticket_a, rule_a, rule_b])
        while (states := _states(am.url)) != want:
            assert time.monotonic() < deadline, states
            time.sleep(0.1)
