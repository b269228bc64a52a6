"""The notification receiver: one line per Alertmanager notification, whatever arrives."""

from __future__ import annotations

import io
import json
import socket
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from llmscope_stack.cli import say
from llmscope_stack.receiver import Receiver, format_notification
from testkit.realservers import free_port

FIRING = {
    "receiver": "llmscope-critical",
    "status": "firing",
    "commonLabels": {
        "alertname": "LLMscopeSPCOutOfControl",
        "severity": "critical",
        "target": "simulated-small",
        "chart": "duration",
        "job": "llmscope-spc",
    },
    "commonAnnotations": {"summary": "duration of simulated-small is out of control."},
    "alerts": [{"labels": {"alertname": "LLMscopeSPCOutOfControl"}, "annotations": {}}],
}


def test_a_notification_becomes_one_line() -> None:
    at = time.mktime((2026, 1, 2, 12, 3, 4, 0, 0, -1))
    assert format_notification(FIRING, at) == (
        '12:03:04 FIRING   critical LLMscopeSPCOutOfControl chart="duration" '
        'target="simulated-small": duration of simulated-small is out of control.'
    )


def test_a_group_without_common_labels_names_its_alerts_and_counts_them() -> None:
    body = {
        "status": "resolved",
        "alerts": [
            {"labels": {"alertname": "B"}, "annotations": {"summary": "first\nsecond"}},
            {"labels": {"alertname": "A"}, "annotations": {}},
        ],
    }
    line = format_notification(body, 0)
    assert line.endswith(" RESOLVED - A,B: resolved (was: first second) (2 alerts)")
    assert "\n" not in line


def test_a_resolved_notification_says_what_is_back_not_the_firing_text() -> None:
    annotations = {
        "summary": "duration of simulated-small moved up: 3.05x its reference.",
        "summary_resolved": "duration of simulated-small is back at its reference.",
    }
    body = {**FIRING, "status": "resolved", "commonAnnotations": annotations}
    line = format_notification(body, 0)
    assert line.endswith(": duration of simulated-small is back at its reference.")
    assert "RESOLVED" in line and "moved up" not in line
    assert format_notification({**body, "status": "firing"}, 0).endswith("3.05x its reference.")


def test_the_receiver_serves_alertmanagers_posts_and_survives_junk() -> None:
    lines: list[str] = []
    port = free_port()
    receiver = Receiver("127.0.0.1", port, lines.append)
    receiver.start()
    try:
        url = f"http://127.0.0.1:{port}/"
        for body in (json.dumps(FIRING).encode(), b"[1, 2]", b"{oops"):
            urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=5).close()
    finally:
        receiver.stop()
    assert len(lines) == 3
    assert "FIRING   critical LLMscopeSPCOutOfControl" in lines[0]
    assert (
        lines[1] == "receiver: a POST that is not an Alertmanager notification (not a JSON object)"
    )
    assert lines[2].startswith("receiver: a POST that is not an Alertmanager notification (")


class SlowTerminal(io.StringIO):
    """A terminal whose writes give other threads the chance to write in between."""

    def write(self, text: str) -> int:
        time.sleep(0.0005)
        return super().write(text)


def test_concurrent_lines_never_share_a_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # The receiver serves each POST on its own thread; two notifications at once once printed
    # as "...limits.16:50:20 FIRING ..." on one line (print() writes text and newline apart).
    terminal = SlowTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    lines = [f"line {i}" for i in range(200)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(say, lines))
    assert sorted(terminal.getvalue().splitlines()) == sorted(lines)


def test_the_receiver_refuses_bodies_it_cannot_bound_and_names_junk_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Content-Length -1 read until the client closed (all of it, past the 1 MiB cap), and
    # JSON nested too deeply raised past the except clause (a traceback per POST).
    lines: list[str] = []
    port = free_port()
    receiver = Receiver("127.0.0.1", port, lines.append)
    receiver.start()
    try:
        for length in ("-1", "abc", str(2 << 20)):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                raw.sendall(
                    f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode()
                )
                assert raw.recv(4096).startswith(b"HTTP/1.0 400 ")
        url = f"http://127.0.0.1:{port}/"
        for body in (b'{"alerts": {"k": 1}}', b"[" * 50_000 + b"]" * 50_000):
            urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=5).close()
    finally:
        receiver.stop()
    assert lines == [
        "receiver: a POST that is not an Alertmanager notification "
        "('str' object has no attribute 'get')",
        "receiver: a POST that is not an Alertmanager notification (RecursionError)",
    ]
    assert "Traceback" not in capsys.readouterr().err
