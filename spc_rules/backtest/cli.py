"""``llmscope-spc backtest``: every page and ticket incident the charts would have raised.

    llmscope-spc backtest --config.file charts.yml --csv probes.csv [--format json]
    llmscope-spc backtest --config.file charts.yml --prometheus.url URL --start T --end T

Exit codes: 0 done (incidents or not), 1 Prometheus could not be read, 2 a bad flag, chart
file or CSV (one line naming the file, line and column; no traceback). docs/backtest.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from servicekit.errors import ConfigError
from servicekit.flags import report_config_error
from servicekit.httpclient import FLAG_HELP, add_http_config_flag, load_client_settings
from servicekit.yamlconf import parse_duration
from spc_rules.backtest import csvinput
from spc_rules.backtest.counters import stored_series
from spc_rules.backtest.episodes import Episode, episodes
from spc_rules.backtest.failurechart import with_failure_chart
from spc_rules.backtest.history import Span
from spc_rules.backtest.prometheus import PrometheusError, read_history
from spc_rules.backtest.replay import Outcome, Replay, cycle_times
from spc_rules.session.cli import parse_time
from spc_rules.sidecar.config.loader import BUILTIN_SOURCE, SidecarConfig, load_text
from spc_rules.sidecar.query.decode import RawSeries

PROG = "llmscope-spc backtest"


def _arg_time(text: str) -> float:
    try:
        return parse_time(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _arg_interval(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("must be greater than zero")
    return seconds


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Replay history through the sidecar's live path (charts, alarms, "
        "failure runs, incidents, at the live cycle spacing) and print every page and "
        "ticket incident.",
    )
    p.add_argument(
        "--config.file",
        dest="config_file",
        metavar="PATH",
        help="chart configuration (default: the built-in charts)",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", metavar="FILE", help="probes, one a row (docs/backtest.md)")
    source.add_argument(
        "--prometheus.url", dest="prometheus_url", metavar="URL", help="read a stored range"
    )
    add_http_config_flag(p, f"with --prometheus.url: {FLAG_HELP}")
    p.add_argument("--start", type=_arg_time, metavar="TIME", help="with --prometheus.url")
    p.add_argument("--end", type=_arg_time, metavar="TIME", help="with --prometheus.url")
    p.add_argument(
        "--spc.interval",
        dest="interval",
        type=_arg_interval,
        metavar="DURATION",
        help="cycle spacing (default: global.interval of the config, 30s)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    return p


def main(argv: Sequence[str]) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.prometheus_url is not None and (args.start is None or args.end is None):
        p.error("--prometheus.url needs --start and --end")
    if args.csv is not None and (args.start is not None or args.end is not None):
        p.error("--start and --end go with --prometheus.url (a CSV replays all its rows)")
    if args.start is not None and args.end is not None and args.start >= args.end:
        p.error("--start must be before --end")
    # What the sidecar would log while it runs (charts that match nothing) is not news here.
    logging.getLogger("llmscope.spc").setLevel(logging.ERROR)
    try:
        outcome = _replay(args)
    except ConfigError as err:
        return report_config_error(PROG, err)
    except PrometheusError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 1
    found = episodes(outcome.incidents)
    for episode in found:
        print(episode.as_json() if args.format == "json" else episode.as_text())
    if args.format == "text":
        print(_summary(found, outcome), file=sys.stderr)
    return 0


def _replay(args: argparse.Namespace) -> Outcome:
    text, source = _config_text(args.config_file)
    config = load_text(text, source)
    stored: list[RawSeries]
    if args.csv is not None:
        probes = csvinput.read_csv(args.csv, config.incidents.reason_label)
        config = with_failure_chart(config, text, probes)
        stored = stored_series(probes, config.incidents.reason_label)
        span = Span.of(stored)
        first, last = span.first, span.last
    else:
        http = load_client_settings(args.prometheus_http_config)
        stored = asyncio.run(
            read_history(args.prometheus_url, config, args.start, args.end, http=http)
        )
        first, last = args.start, args.end
    return run(config, stored, first, last, args.interval)


def run(
    config: SidecarConfig,
    stored: Sequence[RawSeries],
    first: float,
    last: float,
    interval: float | None = None,
    *,
    skip: bool = True,
) -> Outcome:
    """The cycles from ``first`` to ``last`` at ``interval`` (the config's by default)."""
    times = list(cycle_times(first, last, interval or config.interval))
    return Replay(config, stored).run(times, skip=skip)


def _config_text(path: str | None) -> tuple[str, str]:
    if path is None:
        data = resources.files("spc_rules").joinpath("data/default.yml")
        return data.read_text(encoding="utf-8"), BUILTIN_SOURCE
    try:
        return Path(path).read_text(encoding="utf-8"), path
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from None


def _summary(found: Sequence[Episode], outcome: Outcome) -> str:
    pages = sum(e.severity == "page" for e in found)
    return (
        f"{PROG}: {pages} page and {len(found) - pages} ticket incidents; "
        f"{outcome.ran} of {outcome.cycles} cycles run (the others could change nothing)"
    )
