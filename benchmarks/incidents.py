"""Notifications per incident, before and after incidents, and time to the incident's page.

Replays synthetic fleets (``benchmarks.incident_fleets``: 18 probes, two charts each, one
incident of one scope) through the backtest's live path, exactly as ``llmscope-spc backtest
--csv`` does (``read_csv``, ``with_failure_chart``, ``stored_series``, ``Replay`` over
``cycle_times``), and counts per scenario and cadence:

- before: the critical notifications the stack sent before incidents existed, one per
  per-series page episode (LLMscopeSPCOutOfControl, grouped by chart series) and one per
  failing probe (LLMscopeProbeFailing, grouped by target and vantage, which held back the
  SPC alerts of its target). The SLO fast burn is not counted (the replay has no SLO rules;
  it would add at most one per target and vantage);
- after: incident pages (one is right), their scope and subject, and opened - step;
- false incident pages per week per 100 in-control chart series on a long calm 15 s fleet,
  and (``--calm-hourly K``) on K calm hourly fleets of two weeks each.

    python -m benchmarks.incidents                  # about 8 minutes on 2 busy cores
    python -m benchmarks.incidents --seeds 1 --sparse "" --calm-hours 1   # a quick look
    python -m benchmarks.incidents --seeds 1 --sparse "" --calm-hours 0.05 --calm-hourly 8
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.incident_fleets import CHARTS, SCENARIOS, Scenario, Timing, timing, write_fleet
from spc_rules.backtest.counters import stored_series
from spc_rules.backtest.csvinput import read_csv
from spc_rules.backtest.episodes import Episode, episodes
from spc_rules.backtest.failurechart import with_failure_chart
from spc_rules.backtest.history import Span
from spc_rules.backtest.replay import Replay, cycle_times
from spc_rules.sidecar.config.loader import SidecarConfig, load_text
from spc_rules.sidecar.incidents.failures import FailureRun
from spc_rules.sidecar.query.decode import RawSeries
from spc_rules.sidecar.query.points import SeriesKey
from spc_rules.sidecar.stages import ChartPoints, Stages

ENDPOINT_STEP, DNS = 2, 5  # indices in SCENARIOS
HOURLY_DAYS = 14.0  # each calm hourly fleet: 36 chart series x 2 weeks


class CountingReplay(Replay):
    """The live replay, also noting each cycle which chart series opened a page episode and
    which probes started failing: the notifications of the stack before incidents."""

    def __init__(self, config: SidecarConfig, stored: Sequence[RawSeries]) -> None:
        super().__init__(config, stored)
        self.notified: list[tuple[float, str]] = []  # (cycle time, what)
        self._open: set[tuple[str, SeriesKey]] = set()
        self._failing: set[tuple[str, SeriesKey]] = set()
        self._runs: dict[str, dict[SeriesKey, FailureRun]] = {}

    def _decode(
        self, now: float, use: Stages
    ) -> tuple[ChartPoints, dict[str, dict[SeriesKey, FailureRun]]]:
        points, failures = super()._decode(now, use)
        self._runs = failures
        return points, failures

    def cycle(self, at: float) -> None:
        super().cycle(at)
        now = round(at, 3)
        failing = {
            (name, key) for name, runs in self._runs.items() for key, r in runs.items() if r.failing
        }
        for name, key in sorted(failing - self._failing):
            self.notified.append((now, f"ProbeFailing {name}{key}"))
        self._failing = failing
        # ProbeFailing held back the SPC alerts of its target (docs/alerting.md, Inhibition).
        held = {key[0] for _, key in failing}
        opened: set[tuple[str, SeriesKey]] = set()
        for name, view in self.views.items():
            found = view.result.alarms.get("page")
            if found is None:
                continue
            rows = np.flatnonzero(found.carry.state.open).tolist()
            opened.update((name, view.result.keys[r]) for r in rows)
        for name, key in sorted(opened - self._open):
            if key[0] not in held:
                self.notified.append((now, f"OutOfControl {name}{key}"))
        self._open = opened


@dataclass(frozen=True)
class Found:
    scenario: str
    cadence: float
    seed: int
    before: int
    pages: tuple[Episode, ...]
    outside_before: int


def replay(path: Path) -> tuple[CountingReplay, list[Episode]]:
    """What ``llmscope-spc backtest --csv path`` does, with the counting replay."""
    probes = read_csv(path)
    config = with_failure_chart(load_text(CHARTS, "charts.yml"), CHARTS, probes)
    stored = stored_series(probes, config.incidents.reason_label)
    span = Span.of(stored)
    counting = CountingReplay(config, stored)
    outcome = counting.run(list(cycle_times(span.first, span.last, config.interval)))
    return counting, [e for e in episodes(outcome.incidents) if e.severity == "page"]


def one_case(scenario: Scenario, cadence: float, seed: int) -> Found:
    when = timing(cadence)
    with tempfile.TemporaryDirectory() as tmp:
        counting, pages = replay(write_fleet(Path(tmp) / "fleet.csv", scenario, when, seed))
    lo, hi = when.start, when.end + max(300.0, 5 * cadence)
    before = sum(lo <= t <= hi for t, _ in counting.notified)
    return Found(
        scenario.name,
        cadence,
        seed,
        before,
        tuple(pages),
        outside_before=len(counting.notified) - before,
    )


def in_control(days: float, seed: int, cadence: float = 15.0) -> tuple[int, int, float, list[str]]:
    """Incident pages, per-series pages, and chart series-weeks on a calm fleet."""
    when = Timing(cadence, days * 86400.0, 0.0, 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        counting, pages = replay(write_fleet(Path(tmp) / "calm.csv", None, when, seed))
    weeks = 36 * days / 7  # 18 probes x 2 charts (the failure chart has nothing to judge)
    return len(pages), len(counting.notified), weeks, [e.as_text() for e in pages]


def _calm_hourly(seed: int) -> tuple[int, int, float, list[str]]:
    return in_control(HOURLY_DAYS, seed, 3600.0)


def _case(args: tuple[int, float, int]) -> Found:
    index, cadence, seed = args
    return one_case(SCENARIOS[index], cadence, seed)


def _minutes(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.1f} min"


def report(found: list[Found], cadences: tuple[float, ...]) -> None:
    print(
        "\n| scenario | cadence | before (median) | after (pages) | scope/subject right | "
        "opened - step, median (per seed) |"
    )
    print("|---|---|---|---|---|---|")
    for scenario in SCENARIOS:
        for cadence in cadences:
            mine = [f for f in found if f.scenario == scenario.name and f.cadence == cadence]
            if not mine:
                continue
            when = timing(cadence)
            lo, hi = when.start, when.end + max(300.0, 5 * cadence)
            afters, delays, right, wrong = [], [], 0, []
            for f in mine:
                during = [e for e in f.pages if lo <= e.opened <= hi]
                afters.append(len(during))
                for e in f.pages:
                    if (e.scope, e.subject) == (scenario.scope, scenario.subject):
                        right += 1
                    else:
                        wrong.append(
                            f"seed {f.seed}: {e.scope} {e.subject} at {_minutes(e.opened - lo)}"
                        )
                if during:
                    delays.append(during[0].opened - lo)
            seeds = ", ".join(_minutes(d) for d in delays) or "none"
            paged = sum(len(f.pages) for f in mine)
            median = _minutes(statistics.median(delays)) if delays else "never"
            print(
                f"| {scenario.name} | {_minutes(cadence)} | "
                f"{statistics.median(f.before for f in mine):g} | "
                f"{'/'.join(str(a) for a in afters)} | {right} of {paged} | "
                f"{median} ({seeds}) |"
            )
            for w in wrong:
                print(f"    wrong or extra page: {w}")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.incidents")
    p.add_argument("--seeds", type=int, default=3, help="of the endpoint-wide step at 15 s")
    p.add_argument("--calm-hours", type=float, default=3.0, help="the in-control 15 s fleet")
    p.add_argument("--sparse", default="60,300,3600", help="other cadences, seconds")
    p.add_argument(
        "--calm-hourly", type=int, default=0, help="calm hourly fleets of 2 weeks (seeds 11...)"
    )
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    sparse = tuple(float(c) for c in args.sparse.split(",") if c)
    cadences = (15.0, *sparse)
    began = time.monotonic()
    print(
        f"benchmarks.incidents {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, {args.workers} workers"
    )
    # Most telling first, each printed as it ends: every scenario at 15 s, the endpoint-wide
    # step over more seeds and at every cadence, the DNS failure hourly; the calm fleet last.
    cases = [(i, 15.0, 0) for i in range(len(SCENARIOS))]
    cases += [(ENDPOINT_STEP, 15.0, s) for s in range(1, args.seeds)]
    cases += [(ENDPOINT_STEP, c, 0) for c in sparse]
    cases += [(DNS, 3600.0, 0)] if 3600.0 in sparse else []
    found: list[Found] = []
    with ProcessPoolExecutor(args.workers) as pool:
        jobs = [pool.submit(_case, case) for case in cases]
        calm = pool.submit(in_control, args.calm_hours / 24, 101)
        hourly = [pool.submit(_calm_hourly, 11 + i) for i in range(args.calm_hourly)]
        for job in as_completed(jobs):
            f = job.result()
            found.append(f)
            shown = [
                (e.scope, e.subject, round(e.opened - timing(f.cadence).start)) for e in f.pages
            ]
            print(
                f"  {f.scenario} @ {f.cadence:g} s seed {f.seed}: before {f.before} "
                f"(+{f.outside_before} outside), pages {shown}",
                flush=True,
            )
        incident_pages, series_pages, weeks, shown_calm = calm.result()
        calm_hourly = [h.result() for h in hourly]
    report(found, cadences)
    print(
        f"\nIn control, 15 s, 18 probes x 2 charts x {args.calm_hours:g} h "
        f"({weeks:.2f} chart-series-weeks): {incident_pages} incident pages "
        f"({incident_pages / weeks * 100:.2f} per week per 100 series); "
        f"{series_pages} per-series page episodes"
    )
    for line in shown_calm:
        print(f"    {line}")
    if calm_hourly:
        # Judged once limits and references stand: about 20 points (hours) into each fleet.
        judged = sum(w * (HOURLY_DAYS - 20 / 24) / HOURLY_DAYS for *_, w, _ in calm_hourly)
        paged = sum(c[0] for c in calm_hourly)
        print(
            f"In control, hourly, {len(calm_hourly)} fleets of 18 probes x 2 charts x "
            f"{HOURLY_DAYS:g} days ({judged:.0f} judged chart-series-weeks): {paged} incident "
            f"pages ({paged / judged * 100:.2f} per week per 100 series), per fleet "
            f"{[c[0] for c in calm_hourly]}"
        )
        for *_, lines in calm_hourly:
            for line in lines:
                print(f"    {line}")
    print(f"\n{time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
