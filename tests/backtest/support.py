"""Replaying a CSV as ``llmscope-spc backtest`` does, for the tests' assertions."""

from __future__ import annotations

from pathlib import Path

from spc_rules.backtest.cli import run
from spc_rules.backtest.counters import stored_series
from spc_rules.backtest.csvinput import read_csv
from spc_rules.backtest.episodes import Episode, episodes
from spc_rules.backtest.failurechart import with_failure_chart
from spc_rules.backtest.history import Span
from spc_rules.backtest.replay import Outcome
from spc_rules.sidecar.config.loader import SidecarConfig, load_text


def config_for(path: Path, charts: str) -> SidecarConfig:
    """The chart file as the backtest reads it for ``path`` (with its failure chart)."""
    return with_failure_chart(load_text(charts, "charts.yml"), charts, read_csv(path))


def replay(path: Path, charts: str, *, skip: bool = True) -> tuple[Outcome, list[Episode]]:
    probes = read_csv(path)
    config = with_failure_chart(load_text(charts, "charts.yml"), charts, probes)
    stored = stored_series(probes, config.incidents.reason_label)
    span = Span.of(stored)
    outcome = run(config, stored, span.first, span.last, skip=skip)
    return outcome, episodes(outcome.incidents)


def pages(found: list[Episode]) -> list[Episode]:
    return [e for e in found if e.severity == "page"]
