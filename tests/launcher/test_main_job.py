"""README's main job, run as the README says: ``scripts/run`` with a short
MONITORING_INTERVAL (the whole timeline 30 times faster), every part healthy, limits
published, the built-in scripted incident paged and resolved on the terminal, Ctrl-C leaving
nothing running, and a second run resuming with the stored data."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest

from llmscope_stack.links import control_chart_expr, graph_url
from tests.launcher.running import (
    TOKEN,
    Notification,
    Stack,
    environment,
    parse,
    ready,
    scripts_run,
)

INCIDENT_TARGET = "simulated-small"
PAGE = ("critical", "page")


def get(url: str, token: str | None = TOKEN) -> bytes:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=5) as response:
        body: bytes = response.read()
        return body


def query(stack: Stack, expr: str) -> list[dict[str, object]]:
    url = f"{stack.url('prometheus')}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    result: list[dict[str, object]] = json.loads(get(url, None))["data"]["result"]
    return result


def incident_page(n: Notification) -> bool:
    """The scripted slowdown's one page: an incident of scope target (docs/incidents.md)."""
    return (
        n.alertname == "LLMscopeIncident"
        and n.severity in PAGE
        and n.labels.get("scope") == "target"
        and n.labels.get("subject") == INCIDENT_TARGET
    )


def paged_then_resolved(stack: Stack) -> bool:
    seen = stack.notifications()
    firing = [i for i, n in enumerate(seen) if incident_page(n) and n.status == "FIRING"]
    return bool(firing) and any(
        incident_page(n) and n.status == "RESOLVED" and n.alertname == seen[firing[0]].alertname
        for n in seen[firing[0] + 1 :]
    )


@pytest.mark.slow
def test_the_main_job_shows_spc_working_and_stops_clean(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = environment(data, "500ms")
    with scripts_run(env, tmp_path) as stack:
        stack.wait_for(ready, 180, "healthy stack")
        # Every part healthy; both services require the token, and Prometheus sends it.
        for part in ("exporter", "spc"):
            assert get(f"{stack.url(part)}/-/healthy").strip() == b"OK"
            with pytest.raises(urllib.error.HTTPError) as denied:
                get(f"{stack.url(part)}/metrics", token=None)
            assert denied.value.code == 401
        assert get(f"{stack.url('prometheus')}/-/ready", None)
        assert get(f"{stack.url('alertmanager')}/-/ready", None)
        stack.wait_for(
            lambda _: len(query(stack, 'up{job=~"llmscope-exporter|llmscope-spc"} == 1')) == 2,
            60,
            "both services scraped with the token",
        )
        limits = 'llmscope_spc_limits_available{chart="duration",target="simulated-small"} == 1'
        stack.wait_for(lambda _: bool(query(stack, limits)), 120, "published limits")
        # The printed control-chart link draws points, centre line and both limits.
        link = graph_url(stack.url("prometheus"), control_chart_expr())
        assert f"control chart  {link}" in stack.lines
        lines = {r["metric"]["__name__"] for r in query(stack, control_chart_expr())}  # type: ignore[index]
        assert lines == {
            "llmscope_spc_last_value",
            "llmscope_spc_center",
            "llmscope_spc_upper_control_limit",
            "llmscope_spc_lower_control_limit",
        }
        stack.wait_for(lambda _: paged_then_resolved(stack), 240, "a page and its resolution")
        # The RESOLVED line says the target is back, not the firing text again.
        resolved = [
            line
            for line in stack.lines
            if (n := parse(line)) and incident_page(n) and n.status == "RESOLVED"
        ]
        assert resolved and all("is back to normal" in line for line in resolved), resolved
        assert not any("moved" in line for line in resolved), resolved
        # One slowdown of one target: one page, however many of its charts moved.
        pages = [n for n in stack.notifications() if n.severity == "critical"]
        assert [(n.status, n.alertname) for n in pages] == [
            ("FIRING", "LLMscopeIncident"),
            ("RESOLVED", "LLMscopeIncident"),
        ], pages
        children = stack.children()
        names = {c.name() for c in children}
        assert {"prometheus", "prometheus-alertmanager"} <= names, names
        assert len(children) >= 4
        stack.process.send_signal(signal.SIGINT)
        assert stack.process.wait(60) == 0
    _, alive = psutil.wait_procs(children, timeout=5)
    assert alive == []
    assert stack.lines[-1] == "stopped"
    assert (data / "prometheus" / "wal").is_dir()
    assert (data / "alertmanager").is_dir()
    stopped_at = time.time()

    # A second run resumes: Prometheus still holds the first run's samples.
    with scripts_run(env, tmp_path) as again:
        again.wait_for(ready, 120, "healthy stack on the second run")
        before = query(
            again, f'count_over_time(up{{job="llmscope-exporter"}}[1h] @ {stopped_at:.0f})'
        )
        assert before and float(before[0]["value"][1]) > 10  # type: ignore[index]


@pytest.mark.slow
def test_a_first_run_raises_no_limits_unavailable_while_the_p_chart_warms_up(
    tmp_path: Path,
) -> None:
    """Two minutes at MONITORING_INTERVAL=500ms are an hour of the 15 s timeline (x1/30,
    as in the main job): the p chart on probe errors (20 subgroups of 5 minutes at 15 s, 200 s
    here) has no limits yet all that time, and nothing is wrong, so
    LLMscopeSPCLimitsUnavailable (30m offset and 30m for: one hour) neither fires nor pends."""
    hour = 3600 * 0.5 / 15
    with scripts_run(environment(tmp_path / "data", "500ms"), tmp_path) as stack:
        stack.wait_for(ready, 180, "healthy stack")
        warming = 'llmscope_spc_limits_points_needed{chart="probe_errors"} > 0'
        stack.wait_for(lambda _: len(query(stack, warming)) == 2, 120, "the p chart warming up")
        started = time.monotonic()
        while time.monotonic() - started < hour:
            assert stack.process.poll() is None, "\n".join(stack.lines[-20:])
            time.sleep(1)
        # Still warming: the old rule (30m scaled to 1m, on points needed alone) fired here.
        assert len(query(stack, warming)) == 2
        duration = query(stack, 'llmscope_spc_limits_available{chart="duration"} == 1')
        assert len(duration) == 2  # the other charts have their limits
        raised = 'count_over_time(ALERTS{alertname="LLMscopeSPCLimitsUnavailable"}[10m])'
        assert query(stack, raised) == []
        assert not [n for n in stack.notifications() if "LimitsUnavailable" in n.alertname]
