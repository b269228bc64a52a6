"""Issue 22's whole-stack check: one notification per incident, named by its scope.

``scripts/run`` at 1 s probes over a fleet of three OpenAI-compatible endpoints x three models
on loopback (testkit/fleet.py). Once limits stand: 90 s with no critical notification; then,
one after another, one target 3x for 45 s, one endpoint's three models 2.5x, every endpoint
3x, and one endpoint answering 503. Each brings exactly one critical notification, with the
labels scope and subject: target, endpoint, vantage and endpoint.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from testkit.fleet import Fleet, fleet
from tests.launcher.running import Notification, Stack, environment, ready, scripts_run
from tests.launcher.test_main_job import query

MODELS = ("m1", "m2", "m3")
SHIFT_S = 45.0


def criticals(stack: Stack, since: int) -> list[Notification]:
    return [
        n
        for n in stack.notifications()[since:]
        if n.status == "FIRING" and n.severity == "critical"
    ]


def limits_on_all(stack: Stack) -> bool:
    got = query(stack, 'count(llmscope_spc_limits_available{chart="duration"} == 1)')
    value = got[0]["value"] if got else None
    return isinstance(value, list) and float(value[1]) >= len(MODELS) * 3


def phase(stack: Stack, fleet_: Fleet, what: dict[str, object], scope: str, subject: str) -> None:
    """Apply ``what`` for SHIFT_S seconds, then restore; exactly one critical, named right."""
    mark = len(stack.notifications())
    fleet_.set(**what)  # type: ignore[arg-type]
    time.sleep(SHIFT_S)
    fleet_.set()
    # Settled: the incident's own resolution arrives (not a resolution left over from the
    # phase before), and a quiet spell shows nothing else followed.
    stack.wait_for(
        lambda _: any(
            n.status == "RESOLVED" and n.alertname == "LLMscopeIncident"
            for n in stack.notifications()[mark:]
        ),
        240,
        f"the {scope} incident's resolution",
    )
    time.sleep(20)
    got = criticals(stack, mark)
    seen = "\n".join(stack.lines[-30:])
    episodes = query(stack, "sum by (chart, severity) (llmscope_spc_alarms_total)")
    incidents = query(stack, "llmscope_spc_incidents_total")
    assert [(n.alertname, n.labels.get("scope"), n.labels.get("subject")) for n in got] == [
        ("LLMscopeIncident", scope, subject)
    ], f"{seen}\nepisodes: {episodes}\nincidents: {incidents}"


@pytest.mark.fleet
def test_each_incident_is_one_notification_named_by_its_scope(tmp_path: Path) -> None:
    env = environment(tmp_path / "data", "1s")
    env["FLEET_API_KEY"] = "fleet-test-key"
    env["LLMSCOPE_VANTAGE"] = "here"
    with fleet(3, MODELS) as f:
        config = tmp_path / "fleet.yml"
        config.write_text(f.exporter_config("1s"))
        with scripts_run(env, tmp_path, ["--config.file", str(config)]) as stack:
            stack.wait_for(ready, 180, "healthy stack")
            stack.wait_for(lambda _: limits_on_all(stack), 240, "limits on every target")
            mark = len(stack.notifications())
            time.sleep(90)
            assert criticals(stack, mark) == []
            endpoint = [s.url for s in f.endpoints]  # http://127.0.0.1:port
            phase(stack, f, {"factor": {(0, "m1"): 3.0}}, "target", "ep0-m1")
            phase(
                stack,
                f,
                {"factor": {(1, m): 2.5 for m in MODELS}},
                "endpoint",
                endpoint[1],
            )
            everything = {(e, m): 3.0 for e in range(3) for m in MODELS}
            phase(stack, f, {"factor": everything}, "vantage", "here")
            phase(stack, f, {"failing": {2}}, "endpoint", endpoint[2])
