"""The incidents on the sidecar's /metrics (docs/incidents.md, "Published series").

One sample per published incident in each family, labelled ``incident`` (stable for its
life), ``severity``, ``scope`` and ``subject``; the evidence text rides only on the info
family, so a changing text never changes the alert's labels. ``incident_target`` lists the
probes an open incident covers, for the rules that fold probe and SLO alerts into it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from spc_rules.sidecar.incidents.board import Incident

PREFIX = "llmscope_spc_incident"
_LABELS = ["incident", "severity", "scope", "subject"]


def incident_families(
    incidents: Sequence[Incident], opened: Counter[tuple[str, str]]
) -> Iterator[Metric]:
    active = GaugeMetricFamily(
        f"{PREFIX}_active", "1 while the incident is open, 0 once it resolved.", labels=_LABELS
    )
    started = GaugeMetricFamily(
        f"{PREFIX}_started_timestamp_seconds",
        "Unix time of the earliest alarmed point of the incident's members.",
        labels=_LABELS,
    )
    paged = GaugeMetricFamily(
        f"{PREFIX}_opened_timestamp_seconds",
        "Unix time at which the incident settled and was published.",
        labels=_LABELS,
    )
    resolved = GaugeMetricFamily(
        f"{PREFIX}_resolved_timestamp_seconds",
        "Unix time at which the incident resolved (resolved incidents only).",
        labels=_LABELS,
    )
    members = GaugeMetricFamily(
        f"{PREFIX}_members", "Chart series that moved in the incident.", labels=_LABELS
    )
    info = GaugeMetricFamily(
        f"{PREFIX}_info",
        "The incident's evidence in words (value 1).",
        labels=[*_LABELS, "evidence"],
    )
    targets = GaugeMetricFamily(
        f"{PREFIX}_target",
        "Probes (target, vantage) an open incident covers (value 1).",
        labels=["incident", "severity", "target", "vantage"],
    )
    for i in incidents:
        values = [i.key, i.severity, i.scope, i.subject]
        active.add_metric(values, 1.0 if i.is_open else 0.0)
        started.add_metric(values, i.started)
        paged.add_metric(values, i.opened)
        if not math.isnan(i.resolved):
            resolved.add_metric(values, i.resolved)
        members.add_metric(values, float(len(i.members)))
        info.add_metric([*values, i.evidence], 1.0)
        if i.is_open:
            for target, vantage in sorted(i.probes):
                targets.add_metric([i.key, i.severity, target, vantage], 1.0)
    total = CounterMetricFamily(
        f"{PREFIX}s", "Incidents published since the sidecar started.", labels=["severity", "scope"]
    )
    for (severity, scope), count in sorted(opened.items()):
        total.add_metric([severity, scope], float(count))
    yield from (active, started, paged, resolved, members, info, targets, total)
