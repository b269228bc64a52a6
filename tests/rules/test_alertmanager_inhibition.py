"""The real alertmanager.yml in a real Alertmanager: while every probe of a target fails,
its SPC alert is inhibited, is never sent, and another target's SPC alert still is."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from testkit.realservers import alertmanager, http_get
from tests.rules import _bundle as b
from tests.rules._webhook import Notification, webhook_sink

COMPOSE_WEBHOOK = "http://webhook:5001/"
COMPOSE_TEMPLATES = "templates/*.tmpl"


def _alert(**labels: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": labels,
        "annotations": {"summary": f"{labels['alertname']} for {labels['target']}"},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
        "generatorURL": "http://prometheus:9090/graph",
    }


SPC_CHAT = _alert(
    alertname="LLMscopeSPCOutOfControl",
    severity="critical",
    target="chat",
    chart="duration",
    rule="1",
    job="llmscope-spc",
    instance="spc:8466",
)
SPC_OTHER = _alert(
    alertname="LLMscopeSPCOutOfControl",
    severity="critical",
    target="other",
    chart="duration",
    rule="1",
    job="llmscope-spc",
    instance="spc:8466",
)
PROBE_CHAT = _alert(
    alertname="LLMscopeProbeFailing",
    severity="critical",
    target="chat",
    provider="openai",
    model="gpt-4o-mini",
    job="llmscope-exporter",
    instance="exporter:8465",
)


def _post(url: str, alerts: list[dict[str, Any]]) -> None:
    request = urllib.request.Request(
        f"{url}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).close()


def _states(url: str) -> dict[tuple[str, str], dict[str, Any]]:
    alerts = json.loads(http_get(f"{url}/api/v2/alerts"))
    return {(a["labels"]["alertname"], a["labels"]["target"]): a["status"] for a in alerts}


def _wait_states(url: str, want: dict[tuple[str, str], str]) -> dict[tuple[str, str], Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = _states(url)
        if all(states.get(key, {}).get("state") == state for key, state in want.items()):
            return states
        time.sleep(0.1)
    raise AssertionError(f"states never became {want}: {_states(url)}")


def _sent(notifications: list[Notification]) -> set[tuple[str, str, str]]:
    return {
        (n["receiver"], a["labels"]["alertname"], a["labels"]["target"])
        for n in notifications
        for a in n["alerts"]
    }


def test_probe_failing_inhibits_spc_alerts_of_the_same_target_only() -> None:
    with webhook_sink() as sink:
        config = b.ALERTMANAGER_CONFIG.read_text()
        assert COMPOSE_WEBHOOK in config and COMPOSE_TEMPLATES in config
        config = config.replace(COMPOSE_WEBHOOK, sink.url)
        config = config.replace(COMPOSE_TEMPLATES, str(b.TEMPLATES_DIR / "*.tmpl"))
        with alertmanager(config) as am:
            # The failing probe is known first, as in production (its alert has the shorter
            # path), so every SPC group is flushed well after the inhibitor has seen it;
            # the other order races the SPC group's group_wait on a loaded machine.
            _post(am.url, [PROBE_CHAT])
            _wait_states(am.url, {("LLMscopeProbeFailing", "chat"): "active"})
            _post(am.url, [SPC_CHAT, SPC_OTHER])

            states = _wait_states(
                am.url,
                {
                    ("LLMscopeSPCOutOfControl", "chat"): "suppressed",
                    ("LLMscopeSPCOutOfControl", "other"): "active",
                    ("LLMscopeProbeFailing", "chat"): "active",
                },
            )
            assert states[("LLMscopeSPCOutOfControl", "chat")]["inhibitedBy"]
            assert not states[("LLMscopeSPCOutOfControl", "other")]["inhibitedBy"]

            # The SPC groups share one group_wait and were posted together: once the other
            # target's SPC page is out, the inhibited one would have been too.
            probe = ("llmscope-critical", "LLMscopeProbeFailing", "chat")
            other = ("llmscope-critical", "LLMscopeSPCOutOfControl", "other")
            sent = _sent(sink.wait_for(lambda n: {probe, other} <= _sent(n)))
            assert ("llmscope-critical", "LLMscopeSPCOutOfControl", "chat") not in sent
            notification = next(
                n for n in sink.received() if n["commonLabels"]["alertname"] == probe[1]
            )
            assert notification["groupLabels"] == {
                "alertname": "LLMscopeProbeFailing",
                "target": "chat",
                "provider": "openai",
                "model": "gpt-4o-mini",
            }
