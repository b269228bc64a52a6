"""A chart of the sidecar's configuration, as frozen data: which histogram and series, and
how they are judged. ``spc_rules.sidecar.config.charts`` reads it from YAML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from spc_rules.sidecar.config.selector import Matcher

ALL_RULES = (1, 2, 3, 4, 5, 6, 7, 8)
# The engine's sigma estimators (fit_limits_batch's `method`).
Estimator = Literal["mr", "median_mr", "std"]
ESTIMATORS: dict[str, Estimator] = {"mr": "mr", "median_mr": "median_mr", "std": "std"}
# Labels the sidecar adds itself; a chart's `by` may not use them.
RESERVED_LABELS = frozenset({"chart", "rule", "sigmas", "stage", "reason", "le", "__name__"})


@dataclass(frozen=True)
class RollingBaseline:
    """The `window` just before the evaluation window, refitted every cycle."""

    window: float


@dataclass(frozen=True)
class RangeBaseline:
    """A fixed time range (unix seconds) known to be in control."""

    start: float
    end: float


@dataclass(frozen=True)
class PinnedBaseline:
    """Fixed limits: center on the original scale, sigma on the fitting scale (of ln x with
    the log transform, i.e. a relative spread; in the metric's unit otherwise)."""

    center: float
    sigma: float


Baseline = RollingBaseline | RangeBaseline | PinnedBaseline


@dataclass(frozen=True)
class EwmaConfig:
    lam: float = 0.1
    width: float = 2.7


@dataclass(frozen=True)
class CusumConfig:
    k: float = 0.5
    h: float = 5.0


@dataclass(frozen=True)
class ChartDefaults:
    """Chart settings a file can change for all charts under ``global``."""

    evaluation: float = 3600.0
    baseline: float = 6 * 3600.0
    hold: float = 300.0
    min_points: int = 20


@dataclass(frozen=True)
class ChartConfig:
    name: str
    metric: str
    matchers: tuple[Matcher, ...] = ()
    by: tuple[str, ...] = ()
    baseline: Baseline = RollingBaseline(6 * 3600.0)
    evaluation: float = 3600.0
    log: bool = True
    estimator: Estimator = "mr"
    usl: float | None = None
    lsl: float | None = None
    rules: tuple[int, ...] = ALL_RULES
    ewma: EwmaConfig | None = None
    cusum: CusumConfig | None = None
    hold: float = 300.0
    min_points: int = 20
    refits: int = 3

    @property
    def transform(self) -> str:
        return "log" if self.log else "none"

    @property
    def signals(self) -> tuple[str, ...]:
        """The `rule` label values this chart can raise: "1".."8", "ewma", "cusum"."""
        names = [str(r) for r in self.rules]
        names += ["ewma"] if self.ewma else []
        names += ["cusum"] if self.cusum else []
        return tuple(names)
