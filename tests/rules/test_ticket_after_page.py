"""A ticket under a page, end to end: the shipped SPC rules in a real Prometheus (on the
launcher's compressed timeline, an hour in 30 s) and alertmanager.yml in a real Alertmanager,
fed by a stand-in for the sidecar's /metrics. The page is sent and resolved; the same
incident's ticket never surfaces as a new FIRING warning after it, unless its episode is
still open an hour after the page closed (docs/alerting.md, "A ticket under a page")."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml

from llmscope_stack.rulescale import scale_rules
from testkit.realservers import alertmanager, prometheus
from tests.rules import _bundle as b
from tests.rules._webhook import Notification, webhook_sink

SCALE = 1 / 120  # an hour in 30 s, as MONITORING_INTERVAL=125ms would run it
HOUR = 3600 * SCALE
CHARTS = ("duration", "time_to_first_answer")  # the ticket of the second outlives the hour


class FakeSidecar:
    """The sidecar's alarm families for two chart series of target chat, as it serves them:
    ``active`` per chart and severity (an open episode's flag and reference are published only
    while it is open), the episodes' start times, last value."""

    def __init__(self, started: float) -> None:
        self.active = {(c, s): 1 for c in CHARTS for s in ("page", "ticket")}
        self.started = started

    def exposition(self) -> str:
        lines = []
        for chart in CHARTS:
            series = f'chart="{chart}",series="target=chat",target="chat"'
            lines.append(f"llmscope_spc_last_value{{{series}}} 3")
            for severity in ("page", "ticket"):
                labels = f'{series},severity="{severity}",direction="up"'
                lines.append(
                    f"llmscope_spc_alarm_started_timestamp_seconds{{{labels}}} {self.started}"
                )
                if self.active[chart, severity]:
                    lines.append(f"llmscope_spc_alarm_active{{{labels}}} 1")
                    lines.append(f"llmscope_spc_alarm_reference{{{labels}}} 1")
        return "\n".join(lines) + "\n"


@contextlib.contextmanager
def serving(sidecar: FakeSidecar) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = sidecar.exposition().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _alertmanager_config(webhook: str) -> str:
    config = b.load_yaml(b.ALERTMANAGER_CONFIG)
    config["templates"] = [str(b.TEMPLATES_DIR / "*.tmpl")]
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = webhook
    for route in (config["route"], *config["route"]["routes"]):
        route.update(group_wait="100ms", group_interval="1s")  # the launcher's, compressed
    return yaml.safe_dump(config)


def _prometheus_config(sidecar: str, am: str) -> str:
    return yaml.safe_dump(
        {
            "global": {"scrape_interval": "100ms", "evaluation_interval": "100ms"},
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [am]}]}]},
            "rule_files": ["spc.yml"],
            "scrape_configs": [
                {"job_name": "llmscope-spc", "static_configs": [{"targets": [sidecar]}]}
            ],
        }
    )


def _sent(notifications: list[Notification], alertname: str, chart: str) -> list[str]:
    """The statuses of every notification about ``alertname`` on ``chart``, in order."""
    return [
        n["status"]
        for n in notifications
        if n["commonLabels"].get("alertname") == alertname
        and n["commonLabels"].get("chart") == chart
    ]


def test_the_incidents_ticket_never_follows_its_resolved_page() -> None:
    rules = yaml.safe_dump(scale_rules(b.load_yaml(b.RULES_DIR / "spc.yml"), SCALE))
    sidecar = FakeSidecar(started=time.time())
    page, ticket = "LLMscopeSPCOutOfControl", "LLMscopeSPCSustainedShift"
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(webhook_sink())
        target = stack.enter_context(serving(sidecar))
        am = stack.enter_context(alertmanager(_alertmanager_config(sink.url)))
        config = _prometheus_config(target, am.url.removeprefix("http://"))
        stack.enter_context(prometheus(config, rules={"spc.yml": rules}))
        sink.wait_for(lambda n: all(_sent(n, page, c) == ["firing"] for c in CHARTS), 30)
        for chart in CHARTS:
            sidecar.active[chart, "page"] = 0
        closed = time.monotonic()
        sink.wait_for(lambda n: all("resolved" in _sent(n, page, c) for c in CHARTS), 30)
        # A third of the hour after the page: the open tickets have not surfaced.
        time.sleep(max(0.0, closed + HOUR / 3 - time.monotonic()))
        assert _sent(sink.received(), ticket, CHARTS[0]) == []
        assert _sent(sink.received(), ticket, CHARTS[1]) == []
        # duration's ticket closes within the hour: it is never sent. The other's is still
        # open an hour after the page: a smaller shift outlived the incident, a ticket of its
        # own.
        sidecar.active[CHARTS[0], "ticket"] = 0
        sink.wait_for(lambda n: _sent(n, ticket, CHARTS[1]) == ["firing"], HOUR + 30)
        assert _sent(sink.received(), ticket, CHARTS[0]) == []
