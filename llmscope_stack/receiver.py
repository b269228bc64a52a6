"""The stack's notification receiver: Alertmanager's webhook, printed as one line each.

Alertmanager POSTs one JSON body per notification (its webhook format: ``status``,
``receiver``, ``commonLabels``, ``commonAnnotations``, ``alerts``). Each becomes a line such as

    12:03:04 FIRING   critical LLMscopeSPCOutOfControl chart="duration" target="simulated-small":
    duration of simulated-small is out of control (Nelson rule 1).

(one line on the terminal; wrapped here). A RESOLVED notification says what is back to normal
(the rules' ``summary_resolved``), not the firing text again.

A body that is not a notification gets a line saying so, and the receiver goes on.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

# Labels every LLMscope alert may carry that add nothing to the line beside the others.
_QUIET = frozenset({"alertname", "severity", "job", "instance"})


def format_notification(body: dict[str, Any], now: float | None = None) -> str:
    """One line for one Alertmanager notification."""
    stamp = time.strftime("%H:%M:%S", time.localtime(now))
    common = body.get("commonLabels") or {}
    alerts = body.get("alerts") or []
    name = common.get("alertname") or ",".join(
        sorted({str(a.get("labels", {}).get("alertname", "?")) for a in alerts})
    )
    severity = common.get("severity", "-")
    labels = " ".join(f'{k}="{v}"' for k, v in sorted(common.items()) if k not in _QUIET)
    status = str(body.get("status", "?")).upper()
    summary = _summary(body, alerts, resolved=status == "RESOLVED")
    more = f" ({len(alerts)} alerts)" if len(alerts) > 1 else ""
    text = f"{stamp} {status:<8} {severity} {name} {labels}".rstrip()
    return f"{text}: {summary or 'no summary'}{more}".replace("\n", " ")


def _summary(body: dict[str, Any], alerts: list[dict[str, Any]], *, resolved: bool) -> str | None:
    """The firing summary, or for a resolved notification its ``summary_resolved``; an alert
    without one (not LLMscope's) is said to be resolved, its firing text in brackets."""
    keys = ("summary_resolved", "summary") if resolved else ("summary",)
    found = [_annotation(body, alerts, key) for key in keys]
    if not resolved or found[0] is not None:
        return found[0]
    return f"resolved (was: {found[1]})" if found[1] is not None else "resolved"


def _annotation(body: dict[str, Any], alerts: list[dict[str, Any]], key: str) -> str | None:
    value = (body.get("commonAnnotations") or {}).get(key)
    if value is None and alerts:
        value = alerts[0].get("annotations", {}).get(key)
    return None if value is None else str(value)


MAX_NOTIFICATION = 1 << 20  # bytes; Alertmanager's notifications are kilobytes
_LENGTH = re.compile(r"[0-9]{1,18}")


class Receiver:
    """A webhook endpoint on ``host:port`` that hands each line to ``emit``."""

    def __init__(self, host: str, port: int, emit: Callable[[str], None]) -> None:
        self.emit = emit
        self.received = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 10  # a client that stops sending does not hold its thread for ever

            def do_POST(self) -> None:
                length = (self.headers.get("Content-Length") or "0").strip()
                if not _LENGTH.fullmatch(length) or int(length) > MAX_NOTIFICATION:
                    # Not a length to read by (-1 read until the client closed): refused.
                    self.close_connection = True
                    self.send_response(400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                receiver.handle(self.rfile.read(int(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"OK\n")

            def log_message(self, format: str, *args: Any) -> None:
                return  # the notifications are the output; access logs would drown them

        # Binding here, before any child starts, makes a taken port an error at once.
        self._server = http.server.ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="receiver", daemon=True
        )

    def handle(self, raw: bytes) -> None:
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
            line = format_notification(body)
        except (ValueError, AttributeError, TypeError, LookupError, RecursionError) as err:
            # LookupError: "alerts" a mapping; RecursionError: JSON nested too deeply.
            line = f"receiver: a POST that is not an Alertmanager notification ({_why(err)})"
        self.received += 1
        self.emit(line)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which must run
            self._server.shutdown()
        self._server.server_close()


def _why(err: Exception) -> str:
    """What was wrong, on one short line: the error's text, or its kind where it has none
    worth reading (a KeyError's text is the key)."""
    text = str(err) if isinstance(err, (ValueError, TypeError, AttributeError)) else ""
    return (text or type(err).__name__)[:200]
