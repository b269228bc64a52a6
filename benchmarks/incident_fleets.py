"""Synthetic probe fleets for ``benchmarks.incidents``, written as the backtest's CSV.

2 vantages x 3 endpoints x 3 models (18 probes), each probed once per ``cadence`` with
log-normal latency (a level per probe, sigma 0.25 of ln, 1% outliers 2-4x), on two charts
that move together in an incident: the duration and the time to first token. After a calm
history, one incident of one scenario; then calm again. A failed probe is one row of the
duration metric with its reason and no value (no first token), as the exporter stores it.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DURATION = "gen_ai_client_operation_duration_seconds"
FIRST_TOKEN = "gen_ai_server_time_to_first_token_seconds"
HEADER = ["timestamp", "metric", "value", "error", "target", "model", "endpoint", "vantage"]
T0 = 1_780_000_000.0  # 2026-05-28T20:26:40Z
VANTAGES = ("eu-west", "us-east")
ENDPOINTS = (
    "https://api.alpha.example:443",
    "https://api.beta.example:443",
    "https://api.gamma.example:443",
)
MODELS = ("m-small", "m-medium", "m-large")
SIGMA = 0.25
# Charts that set only what a new user sets: metric, by and transform (docs/backtest.md).
CHARTS = f"""
charts:
  - name: duration
    metric: {DURATION}
    by: [target, vantage]
    transform: log
  - name: first_token
    metric: {FIRST_TOKEN}
    by: [target, vantage]
    transform: log
"""


@dataclass(frozen=True)
class Scenario:
    """One incident: what it hits, how (a latency ratio, or a failure reason), and the scope
    and subject the incident engine should give it."""

    name: str
    scope: str
    subject: str
    ratio: float = 1.0
    error: str = ""

    def hits(self, endpoint: str, model: str, vantage: str) -> bool:
        if self.scope == "target":
            return target_of(endpoint, model) == self.subject
        if self.scope == "model":
            return model == self.subject
        if self.scope == "endpoint":
            return endpoint == self.subject
        return vantage == self.subject


def target_of(endpoint: str, model: str) -> str:
    return f"{endpoint.split('//')[1].split('.')[1]}/{model}"


SCENARIOS = (
    Scenario("one target 3x", "target", target_of(ENDPOINTS[0], "m-small"), ratio=3.0),
    Scenario("one model 2.5x on every endpoint", "model", "m-large", ratio=2.5),
    Scenario("one endpoint 2.5x", "endpoint", ENDPOINTS[1], ratio=2.5),
    Scenario("one vantage 3x", "vantage", "us-east", ratio=3.0),
    Scenario("one endpoint answers 503", "endpoint", ENDPOINTS[1], error="server_error"),
    Scenario("DNS fails at one probe host", "vantage", "eu-west", error="dns"),
)


@dataclass(frozen=True)
class Timing:
    """A fleet's time line: calm history, the incident, calm after (seconds)."""

    cadence: float
    calm: float
    lasting: float
    after: float

    @property
    def start(self) -> float:
        return T0 + self.calm

    @property
    def end(self) -> float:
        return self.start + self.lasting


def timing(cadence: float) -> Timing:
    """Enough calm history for the cadence's stretched windows (docs/alerting.md, "Time to
    page per cadence"): 2 h at 15 s, 6 h at 1 min, 2 days at 5 min, 6 days hourly; the
    incident lasts 40 points or 10 minutes, whichever is longer."""
    calm = {15.0: 2 * 3600.0, 60.0: 6 * 3600.0, 300.0: 2 * 86400.0, 3600.0: 6 * 86400.0}
    lasting = max(600.0, 40 * cadence)
    return Timing(cadence, calm[cadence], lasting, lasting)


def write_fleet(path: Path, scenario: Scenario | None, when: Timing, seed: int) -> Path:
    """The fleet's probes as CSV rows; ``scenario`` None is a fleet that stays in control."""
    rng = np.random.default_rng(seed)
    n = int((when.calm + when.lasting + when.after) / when.cadence)
    jitter = min(3.0, when.cadence / 5)
    rows: list[list[str]] = []
    for vantage in VANTAGES:
        for endpoint in ENDPOINTS:
            for model in MODELS:
                target = target_of(endpoint, model)
                labels = [target, model, endpoint, vantage]
                ts = T0 + when.cadence * np.arange(n) + rng.uniform(0.0, jitter)
                hit = np.zeros(n, dtype=bool)
                if scenario is not None and scenario.hits(endpoint, model, vantage):
                    hit = (ts >= when.start) & (ts < when.end)
                reason = scenario.error if scenario is not None else ""
                ratio = scenario.ratio if scenario is not None else 1.0
                factor = np.where(hit & (reason == ""), ratio, 1.0)
                failed = hit & (reason != "")
                duration = np.exp(rng.normal(0.3, 0.4) + noise(rng, n)) * factor
                first = np.exp(rng.normal(-1.0, 0.3) + noise(rng, n)) * factor
                for t, d, f, bad in zip(ts, duration, first, failed, strict=True):
                    stamp = f"{t:.3f}"
                    if bad:
                        rows.append([stamp, DURATION, "", reason, *labels])
                        continue
                    rows.append([stamp, DURATION, f"{d:.6f}", "", *labels])
                    rows.append([stamp, FIRST_TOKEN, f"{f:.6f}", "", *labels])
    return write_rows(path, rows)


def write_rows(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    """``rows`` under the backtest's CSV header (docs/backtest.md)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        out.writerows(rows)
    return path


def noise(rng: np.random.Generator, n: int, sigma: float = SIGMA) -> np.ndarray:
    """ln of a latency around its level: normal noise with 1% outliers 2-4x."""
    z = rng.normal(0.0, sigma, n)
    spikes = rng.random(n) < 0.01
    return z + np.where(spikes, np.log(rng.uniform(2.0, 4.0, n)), 0.0)
