"""A chart of the sidecar's configuration, as frozen data: which histogram and series, and
how they are judged. ``spc_rules.sidecar.config.charts`` reads it from YAML."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from spc_rules.detectors.paging import PagingPolicy
from spc_rules.sidecar.config.selector import Matcher, render_selector
from spc_rules.sidecar.signals.base import Detector

ALL_RULES = (1, 2, 3, 4, 5, 6, 7, 8)
# The engine's sigma estimators (fit_limits_batch's `method`).
Estimator = Literal["mr", "median_mr", "std"]
ESTIMATORS: dict[str, Estimator] = {"mr": "mr", "median_mr": "median_mr", "std": "std"}
# Labels the sidecar adds itself; a chart's `by` may not use them.
RESERVED_LABELS = frozenset(
    {
        "chart",
        "series",
        "rule",
        "severity",
        "direction",
        "sigmas",
        "stage",
        "reason",
        "le",
        "__name__",
    }
)
DEFAULT_EVALUATION = 3600.0
DEFAULT_BASELINE = 6 * 3600.0
# Whose side a chart's series speak for, when they move (docs/incidents.md): ``ours`` (a
# proxy's own time, the network), ``provider`` (the upstream call), or unknown.
Side = Literal["ours", "provider", "unknown"]
SIDES: dict[str, Side] = {"ours": "ours", "provider": "provider", "unknown": "unknown"}
# The smallest move of a log chart that may page, as a ratio in the bad direction.
DEFAULT_MIN_EFFECT = 1.3
# What a chart's points are: observations of a histogram, or the share of a counter's
# increments among another's (a p-chart, docs/sidecar.md "p charts").
Kind = Literal["histogram", "p"]
# Which side of the center is bad: latency and cost up, throughput down, or both.
Direction = Literal["up", "down", "both"]
DIRECTIONS: dict[str, Direction] = {"up": "up", "down": "down", "both": "both"}


def default_direction(metric: str) -> Direction:
    """A rate (tokens per second, a throughput) is bad when it falls; everything else the
    sidecar judges (durations, token counts, cost) when it rises."""
    return "down" if metric.endswith("_per_second") or "throughput" in metric else "up"


@dataclass(frozen=True)
class RollingBaseline:
    """The `window` just before the evaluation window, refitted on a schedule
    (judge/incremental/rolling.py)."""

    window: float

    @property
    def rolling_window(self) -> float:
        return self.window

    @property
    def fixed_range(self) -> tuple[float, float] | None:
        return None

    def pinned(self, log: bool) -> tuple[float, float] | None:
        return None


@dataclass(frozen=True)
class RangeBaseline:
    """A fixed time range (unix seconds) known to be in control."""

    start: float
    end: float

    @property
    def rolling_window(self) -> float:
        return 0.0

    @property
    def fixed_range(self) -> tuple[float, float] | None:
        return (self.start, self.end)

    def pinned(self, log: bool) -> tuple[float, float] | None:
        return None


@dataclass(frozen=True)
class PinnedBaseline:
    """Fixed limits: center on the original scale, sigma on the fitting scale (of ln x with
    the log transform, i.e. a relative spread; in the metric's unit otherwise)."""

    center: float
    sigma: float

    @property
    def rolling_window(self) -> float:
        return 0.0

    @property
    def fixed_range(self) -> tuple[float, float] | None:
        return None

    def pinned(self, log: bool) -> tuple[float, float] | None:
        """(center, sigma) on the fitting scale."""
        return (math.log(self.center) if log else self.center, self.sigma)


# Each kind answers the three questions the sidecar asks of a baseline: how far back it
# rolls (0: it does not), which fixed range it reads (None: none), which limits it pins.
Baseline = RollingBaseline | RangeBaseline | PinnedBaseline


@dataclass(frozen=True)
class PagingConfig:
    """The alarm detectors' budgets, shifts and reference (docs/sidecar.md, docs/paging.md).

    Shifts are ratios on the original scale for log charts (1.7: +70%), in sigmas for
    untransformed ones."""

    false_pages_per_week: float = 1.0  # per `fleet_series` in-control series
    false_tickets_per_day: float = 1.0  # per `fleet_series` in-control series
    fleet_series: int = 100
    page_shift: float = 1.7
    page_shift_sigmas: float = 2.0
    ticket_shift: float = 1.2
    ticket_shift_sigmas: float = 1.0
    # The reference each new point is compared with: the mean of the `reference` of points
    # before it (1 h: half the lag of 2 h behind a daily rhythm; the page's design pays for
    # its noise); for tickets the `ticket_reference` ending `ticket_gap` earlier (a slow
    # shift is not absorbed before it is ticketed; 5 h: the ticket's small k needs a quiet
    # reference, and 5 h + 1 h fit the default 6 h baseline). Points inside an episode never
    # enter it.
    reference: float = 3600.0
    ticket_reference: float = 5 * 3600.0
    ticket_gap: float = 3600.0
    # An episode open this long is accepted as the new normal (an info alert says so).
    accept_after: float = 86_400.0

    @property
    def policy(self) -> PagingPolicy:
        return PagingPolicy(
            false_pages_per_week=self.false_pages_per_week,
            fleet_series=self.fleet_series,
            page_shift_ratio=self.page_shift,
            page_shift_sigmas=self.page_shift_sigmas,
            ticket_false_per_day=self.false_tickets_per_day,
            ticket_shift_ratio=self.ticket_shift,
            ticket_shift_sigmas=self.ticket_shift_sigmas,
        )


@dataclass(frozen=True)
class CounterSelector:
    """A counter series selector of a p chart: the metric name and its label matchers."""

    metric: str
    matchers: tuple[Matcher, ...] = ()

    def render(self) -> str:
        return render_selector((self.metric,), self.matchers)

    def text(self) -> str:
        """As a user writes it: ``name{a="b"}``."""
        inner = ",".join(m.render() for m in self.matchers)
        return f"{self.metric}{{{inner}}}" if inner else self.metric


@dataclass(frozen=True)
class Proportion:
    """What a p chart counts: ``numerator`` increments out of ``denominator`` increments,
    pooled into subgroups of ``subgroup`` seconds, with Laney's p' when ``laney``."""

    numerator: CounterSelector
    denominator: CounterSelector
    subgroup: float = 300.0
    laney: bool = False


@dataclass(frozen=True)
class IncidentSettings:
    """How the sidecar groups alarm episodes into incidents (docs/incidents.md)."""

    failures: str = "probe_errors"  # a kind p chart over failed probes; "": none
    reason_label: str = "error_type"
    min_failures: int = 2
    settle_points: float = 2.0
    settle_max: float = 60.0


@dataclass(frozen=True)
class ChartDefaults:
    """Chart settings a file can change for all charts under ``global``."""

    evaluation: float = DEFAULT_EVALUATION
    baseline: float = DEFAULT_BASELINE
    hold: float = 300.0
    min_points: int = 20
    paging: PagingConfig = field(default_factory=PagingConfig)


@dataclass(frozen=True)
class ChartConfig:
    name: str
    metric: str
    matchers: tuple[Matcher, ...] = ()
    by: tuple[str, ...] = ()
    baseline: Baseline = RollingBaseline(DEFAULT_BASELINE)
    evaluation: float = DEFAULT_EVALUATION
    log: bool = True
    estimator: Estimator = "mr"
    usl: float | None = None
    lsl: float | None = None
    rules: tuple[int, ...] = ALL_RULES
    detectors: tuple[Detector, ...] = ()  # info detectors besides the rules (signals/)
    hold: float = 300.0
    min_points: int = 20
    # Points of fewer observations than this are skipped, not plotted (real traffic: an
    # interval with one or two requests; docs/engines.md). 1: every point.
    min_subgroup: int = 1
    refits: int = 3
    direction: Direction = "up"
    paging: PagingConfig = field(default_factory=PagingConfig)
    proportion: Proportion | None = None  # set for kind p
    side: Side = "unknown"
    # No page for a move smaller than this ratio in the bad direction (log charts; None:
    # no floor), however small sigma is (docs/paging.md, "A practical floor").
    min_effect: float | None = DEFAULT_MIN_EFFECT
    # How many times its configured windows a chart's are, for sparse points (set by
    # judge/cadence.py from the points' spacing, never read from YAML).
    cadence_scale: int = 1

    @property
    def kind(self) -> Kind:
        return "histogram" if self.proportion is None else "p"

    @property
    def transform(self) -> str:
        return "log" if self.log else "none"

    @property
    def signals(self) -> tuple[str, ...]:
        """The `rule` label values this chart can raise: "1".."8", then its detectors'."""
        return (*(str(r) for r in self.rules), *(d.name for d in self.detectors))
