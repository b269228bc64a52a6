"""Incidents on the dashboards: a table of the open ones with scope and evidence, and an
annotation at each incident's page (docs/incidents.md, docs/dashboards.md)."""

from __future__ import annotations

from grafana.dashgen.layout import Grid, annotation, row
from grafana.dashgen.panels import Json, Query, bargauge, table

_KEYS = "incident, severity, scope, subject"


def open_incidents(grid: Grid, selector: str = "") -> None:
    """One row per open incident: severity, scope, subject, evidence, since when, members;
    and how many incidents paged in the time range, by scope."""
    inner = f"{{{selector}}}" if selector else ""
    active = f"(llmscope_spc_incident_active{inner} == 1)"

    def of_open(family: str) -> str:
        return f"max by ({_KEYS}) ({family}{inner} and on ({_KEYS}) {active})"

    grid.row(row("Incidents"))
    grid.add(
        table(
            "Open incidents",
            "Alarm episodes of one cause, with their scope (target, model, endpoint or vantage: "
            "whose side it is) and the evidence the sidecar read. A page incident pages once; "
            "docs/runbooks.md, 'Is it them or us?', says how to read the evidence.",
            [
                Query(
                    f"max by ({_KEYS}, evidence) (llmscope_spc_incident_info{inner}"
                    f" and on ({_KEYS}) {active})",
                    instant=True,
                ),
                Query(
                    f"{of_open('llmscope_spc_incident_started_timestamp_seconds')} * 1000",
                    instant=True,
                ),
                Query(
                    f"{of_open('llmscope_spc_incident_opened_timestamp_seconds')} * 1000",
                    instant=True,
                ),
                Query(of_open("llmscope_spc_incident_members"), instant=True),
            ],
            "none",
            columns={
                "A": ("open", "none"),
                "B": ("first alarmed point", "dateTimeAsIso"),
                "C": ("paged at", "dateTimeAsIso"),
                "D": ("members", "none"),
            },
            hide=("incident",),
        ),
        18,
        7,
    )
    grid.add(
        bargauge(
            "Incidents in the time range",
            "Incidents published in the dashboard's time range, by severity and scope "
            "(llmscope_spc_incidents_total): how often each side was the cause.",
            [
                Query(
                    f"sum by (severity, scope) (increase(llmscope_spc_incidents_total{inner}"
                    "[$__range]))",
                    "{{severity}} {{scope}}",
                    instant=True,
                )
            ],
            "none",
        ),
        6,
        7,
    )


def incident_annotation(selector: str = "") -> Json:
    """A mark at each incident's page, titled with its scope and subject."""
    inner = f"{{{selector}}}" if selector else ""
    return annotation(
        "Incidents",
        f"max by ({_KEYS}) (llmscope_spc_incident_opened_timestamp_seconds{inner}) * 1000",
        title="{{severity}} incident: {{scope}} {{subject}}",
        text="Incident {{incident}} ({{scope}} {{subject}}) paged at this time",
        tags="severity,scope,subject",
        color="orange",
        value_is_time=True,
    )
