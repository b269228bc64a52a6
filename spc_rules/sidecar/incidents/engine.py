"""One cycle of the incident decision, the same for the live sidecar and a replay."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from spc_rules.sidecar.config.model import IncidentSettings
from spc_rules.sidecar.families import ChartView, series_label
from spc_rules.sidecar.incidents.board import Incident, IncidentBoard, covered
from spc_rules.sidecar.incidents.failures import FailureRun
from spc_rules.sidecar.incidents.identity import TargetInfo, identify
from spc_rules.sidecar.incidents.model import Identity
from spc_rules.sidecar.incidents.movements import movements
from spc_rules.sidecar.incidents.scope import decide
from spc_rules.sidecar.query.points import SeriesKey

Failures = Mapping[str, Mapping[SeriesKey, FailureRun]]


TICKET_AFTER_PAGE = 3600.0


class IncidentEngine:
    """Page incidents first; ticket incidents of the probes no page covers."""

    def __init__(self, settings: IncidentSettings | None = None) -> None:
        self.configure(settings or IncidentSettings())

    def configure(self, settings: IncidentSettings) -> None:
        """New settings keep the incidents under way."""
        self.settings = settings
        self._population = getattr(self, "_population", None) or _Population()
        old = getattr(self, "boards", {})
        self.boards = {
            s: IncidentBoard(
                s, settle_points=settings.settle_points, settle_max=settings.settle_max
            )
            for s in ("page", "ticket")
        }
        for severity, board in old.items():
            self.boards[severity].incidents = board.incidents
            self.boards[severity].opened = board.opened

    def update(
        self,
        now: float,
        views: Mapping[str, ChartView],
        failures: Failures,
        info: TargetInfo,
        host_cpu: Mapping[str, float] | None = None,
    ) -> None:
        population = self._population.of(views, failures, info)
        pages = list(movements(views, "page", info, failures))
        self.boards["page"].update(now, decide(pages, population, host_cpu))
        # A ticket of a paged probe belongs to the page's incident, also in the hour after it
        # (the slower ticket detector is still coming down); docs/incidents.md.
        paged = covered(self.boards["page"].incidents, now, TICKET_AFTER_PAGE)
        tickets = [m for m in movements(views, "ticket", info, {}) if m.identity.probe not in paged]
        self.boards["ticket"].update(now, decide(tickets, population, host_cpu))

    def opened(self) -> Counter[tuple[str, str]]:
        """Published incidents by (severity, scope), since the start."""
        return Counter(
            {(s, scope): n for s, b in self.boards.items() for scope, n in b.opened.items()}
        )

    def incidents(self) -> list[Incident]:
        """Published incidents (open, and recently resolved), pages first."""
        return [i for s in ("page", "ticket") for i in self.boards[s].published()]


class _Population:
    """Every probe the charts know of (what an incident's "k of n" counts), identified once
    per series and again only when the exporters' target info changes."""

    def __init__(self) -> None:
        self._info: TargetInfo | None = None
        self._known: dict[tuple[tuple[str, ...], SeriesKey], Identity] = {}

    def of(
        self, views: Mapping[str, ChartView], failures: Failures, info: TargetInfo
    ) -> set[Identity]:
        if info != self._info:
            self._info, self._known = info, {}
        seen: dict[tuple[tuple[str, ...], SeriesKey], Identity] = {}
        for view in views.values():
            by = view.result.chart.by
            for key in view.result.keys:
                seen[(by, key)] = self._known.get((by, key)) or identify(
                    dict(zip(by, key, strict=True)), series_label(by, key), info
                )
        for runs in failures.values():
            for run in runs.values():
                by, key = tuple(run.labels), tuple(run.labels.values())
                seen[(by, key)] = self._known.get((by, key)) or identify(
                    dict(run.labels), series_label(by, key), info
                )
        self._known = seen
        return set(seen.values())
