"""A replay's incidents as output: one JSON object a line, or one readable line each.

JSON keys (docs/backtest.md, "Reading the output"): ``severity`` (page or ticket), ``scope``,
``subject``, ``incident`` (the live ``incident`` label), ``started`` (the earliest alarmed
point), ``opened`` (the cycle that published it: when the live stack would have paged),
``resolved`` (null while open at the end of the history), all in Unix seconds;
``members`` (``chart{series}`` of every chart series that moved in it) and ``evidence``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass

from spc_rules.sidecar.incidents.board import Incident


@dataclass(frozen=True)
class Episode:
    severity: str
    scope: str
    subject: str
    incident: str
    started: float
    opened: float
    resolved: float | None
    members: tuple[str, ...]
    evidence: str

    @classmethod
    def of(cls, incident: Incident) -> Episode:
        return cls(
            severity=incident.severity,
            scope=incident.scope,
            subject=incident.subject,
            incident=incident.key,
            started=incident.started,
            opened=incident.opened,
            resolved=None if math.isnan(incident.resolved) else incident.resolved,
            members=tuple(sorted(f"{chart}{{{series}}}" for chart, series in incident.members)),
            evidence=incident.evidence,
        )

    def as_json(self) -> str:
        doc = {
            "severity": self.severity,
            "scope": self.scope,
            "subject": self.subject,
            "incident": self.incident,
            "started": _number(self.started),
            "opened": self.opened,
            "resolved": self.resolved,
            "members": list(self.members),
            "evidence": self.evidence,
        }
        return json.dumps(doc, ensure_ascii=False)

    def as_text(self) -> str:
        until = "still open" if self.resolved is None else f"resolved {_iso(self.resolved)}"
        lasted = "" if self.resolved is None else f" ({_duration(self.resolved - self.opened)})"
        members = f"{len(self.members)} member{'s' * (len(self.members) != 1)}"
        return (
            f"{self.severity.upper():6} {self.scope:8} {self.subject}  opened {_iso(self.opened)}"
            f" (started {_iso(self.started)}), {until}{lasted}; {members}; {self.evidence}"
        )


def episodes(incidents: Iterable[Incident]) -> list[Episode]:
    """In the order they were published; pages before tickets at the same cycle."""
    found = [Episode.of(i) for i in incidents if not math.isnan(i.opened)]
    return sorted(found, key=lambda e: (e.opened, e.severity != "page", e.incident))


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _iso(stamp: float) -> str:
    if math.isnan(stamp):
        return "unknown"
    return dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(seconds: float) -> str:
    minutes = max(round(seconds / 60), 0)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"
