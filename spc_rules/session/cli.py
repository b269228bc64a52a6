"""``llmscope-spc session capture | summarize | compare | trend | report``.

Exit codes: 0 done, 1 a session or Prometheus problem (one line naming it), 2 a bad flag or
configuration. docs/research.md shows every command at work.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from servicekit.errors import ConfigError
from servicekit.flags import report_config_error
from servicekit.httpclient import add_http_config_flag, load_client_settings
from servicekit.sessionformat import (
    SUMMARY_FILE,
    add_spec_flags,
    new_session_folder,
    parse_spec,
    write_json,
    write_rows,
)
from servicekit.yamlconf import parse_duration
from spc_rules.session import capture as cap
from spc_rules.session import compare as cmp
from spc_rules.session import energy, store, summary, table
from spc_rules.sidecar.config.loader import SidecarConfig, builtin_config, load_file

PROG = "llmscope-spc session"
DEFAULT_PROMETHEUS = "http://localhost:9090"


def parse_time(text: str, now: float | None = None) -> float:
    """``now``, ``now-1h``, unix seconds, or RFC 3339 (``2026-05-01T10:00:00Z``)."""
    now = time.time() if now is None else now
    value = text.strip()
    if value == "now":
        return now
    if value.startswith("now-"):
        return now - parse_duration(value[4:])
    try:
        return float(value)
    except ValueError:
        pass
    try:
        stamp = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f'"{text}" is not a time (use now, now-1h, unix seconds or RFC 3339)'
        ) from None
    if stamp.tzinfo is None:
        raise ValueError(f'"{text}" has no time zone (add Z or +00:00)')
    return stamp.timestamp()


def _arg(convert: Callable[[str], object]) -> Callable[[str], object]:
    def run(text: str) -> object:
        try:
            return convert(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return run


def _spec(text: str) -> tuple[str, str]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f'"{text}": expected METRIC=VALUE')
    return name, raw


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, description="Research sessions: capture, summarize, compare, trend, report."
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("capture", help="a session from a Prometheus time range")
    c.add_argument("--prometheus.url", dest="url", default=DEFAULT_PROMETHEUS, metavar="URL")
    add_http_config_flag(c)
    c.add_argument(
        "--config.file",
        dest="config_file",
        metavar="PATH",
        help="sidecar chart configuration (default: the built-in charts)",
    )
    c.add_argument(
        "--chart",
        action="append",
        default=[],
        metavar="NAME",
        help="chart to capture (repeatable; default: every chart)",
    )
    c.add_argument("--from", dest="start", required=True, type=_arg(parse_time), metavar="TIME")
    c.add_argument("--to", dest="end", default="now", type=_arg(parse_time), metavar="TIME")
    c.add_argument("--out", required=True, metavar="DIR", help="session folder (new or empty)")
    _spec_flags(c)

    s = sub.add_parser("summarize", help="(re)write summary.json of a session")
    s.add_argument("session", metavar="SESSION")
    _spec_flags(s)

    m = sub.add_parser("compare", help="later sessions against the first")
    m.add_argument("sessions", nargs="+", metavar="SESSION")
    m.add_argument("--target", metavar="NAME")
    m.add_argument("--metric", metavar="NAME")
    m.add_argument("--csv", metavar="FILE", help="also write the comparison as CSV")
    _spec_flags(m)

    t = sub.add_parser("trend", help="capability of one target across sessions")
    t.add_argument("sessions", nargs="+", metavar="SESSION")
    t.add_argument("--target", metavar="NAME")
    t.add_argument("--metric", metavar="NAME")
    t.add_argument("--csv", metavar="FILE", help="also write the trend as CSV")
    _spec_flags(t)

    r = sub.add_parser("report", help="one self-contained HTML report")
    r.add_argument("sessions", nargs="+", metavar="SESSION")
    r.add_argument(
        "--out", required=True, metavar="DIR", help="folder for report.html and points.csv"
    )
    r.add_argument("--target", metavar="NAME")
    r.add_argument("--metric", metavar="NAME")
    r.add_argument("--png", action="store_true", help="also export every chart as PNG")
    _spec_flags(r)
    return p


def _spec_flags(p: argparse.ArgumentParser) -> None:
    add_spec_flags(p, _spec)
    p.add_argument(
        "--carbon-intensity",
        dest="carbon_intensity",
        type=_arg(_intensity),
        metavar="G",
        help="grid carbon intensity in gCO2e per kWh for grams per 1,000 tokens (default: "
        "the session's own setting; none, no grams)",
    )


def _intensity(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f'"{text}" is not a number') from None
    if not 0 < value < 10_000:
        raise ValueError("must be above 0 and below 10000 gCO2e/kWh")
    return value


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as err:
        return report_config_error(f"{PROG} {args.command}", err)
    except store.SessionError as err:
        print(f"{PROG} {args.command}: {err}", file=sys.stderr)
        return 1


def _capture(args: argparse.Namespace) -> int:
    config: SidecarConfig = load_file(args.config_file) if args.config_file else builtin_config()
    # Sessions judge histograms: p charts (kind p) have no observations to capture.
    known = {c.name: c for c in config.charts if c.proportion is None}
    unknown = [n for n in args.chart if n not in known]
    if unknown:
        raise store.SessionError(
            f"unknown chart {unknown[0]} (the configuration has: {', '.join(known)})"
        )
    if args.start >= args.end:
        raise store.SessionError("--from must be before --to")
    charts = [known[n] for n in dict.fromkeys(args.chart)] if args.chart else list(known.values())
    out = Path(args.out)
    http = load_client_settings(args.prometheus_http_config)
    found = asyncio.run(cap.fetch_points(args.url, config, charts, args.start, args.end, http=http))
    if not any(found.values()):
        raise store.SessionError(
            f"no data: {', '.join(c.name for c in charts)} has no points between "
            f"{_iso(args.start)} and {_iso(args.end)} at {args.url}"
        )
    problem = new_session_folder(out)
    if problem:
        raise store.SessionError(problem)
    count = cap.write_capture(out, args.url, charts, found, start=args.start, end=args.end)
    for name, series in found.items():
        if not series:
            print(f"{PROG} capture: chart {name} has no points in the range", file=sys.stderr)
    print(f"{PROG} capture: wrote {out} ({count} points)", file=sys.stderr)
    return _summarize_folder(out, args)


def _summarize(args: argparse.Namespace) -> int:
    return _summarize_folder(Path(args.session), args)


def _summarize_folder(folder: Path, args: argparse.Namespace) -> int:
    session = _with_spec(store.load(folder), args)
    summaries = summary.summarize_session(session)
    intensity = energy.carbon_intensity([session], getattr(args, "carbon_intensity", None))
    found = []
    if session.probes is not None:  # bench sessions: energy per target, or why none
        for target in energy.targets_of([session]):
            why = energy.not_measured(session, target)
            found.append((target, energy.summarize(session, target, intensity), why))
    entries = {t: energy.document(e, why) for t, e, why in found}
    write_json(folder / SUMMARY_FILE, summary.document(session, summaries, entries))
    print(table.summary_table(summaries.values()))
    if found:
        print(table.energy_table(found))
    return 0


def _with_spec(session: store.Session, args: argparse.Namespace) -> store.Session:
    """The session with the spec limits given as flags in place of its own."""
    units = {name: spec.unit for name, spec in session.metrics.items()}
    metrics = dict(session.metrics)
    for side, given in (("usl", args.usl), ("lsl", args.lsl)):
        for name, raw in given:
            try:
                metric, value = parse_spec(f"{name}={raw}", units)
            except ValueError as err:
                raise store.SessionError(f"--{side} {err}") from None
            old = metrics[metric]
            metrics[metric] = store.MetricSpec(
                old.name,
                old.unit,
                old.log,
                value if side == "usl" else old.usl,
                value if side == "lsl" else old.lsl,
            )
    return dataclasses.replace(session, metrics=metrics)


def _compare(args: argparse.Namespace) -> int:
    sessions = [_with_spec(store.load(p), args) for p in args.sessions]
    found = cmp.compare(sessions, args.target, args.metric)
    print(table.compare_table(found))
    intensity = energy.carbon_intensity(sessions, args.carbon_intensity)
    targets = [t for t in energy.targets_of(sessions) if args.target in (None, t)]
    changes = energy.compare(
        [{t: energy.summarize(s, t, intensity) for t in targets} for s in sessions]
    )
    if changes:
        print("energy per 1,000 output tokens (* significant, Mann-Whitney U):")
        print(table.energy_change_table(changes))
    if args.csv:
        write_rows(Path(args.csv), table.COMPARE_COLUMNS, table.compare_rows(found))
    return 0


def _trend(args: argparse.Namespace) -> int:
    sessions = [_with_spec(store.load(p), args) for p in args.sessions]
    rows = cmp.trend(sessions, args.target, args.metric)
    print(table.trend_table(rows))
    if args.csv:
        write_rows(Path(args.csv), table.TREND_COLUMNS, table.trend_rows(rows))
    return 0


def _report(args: argparse.Namespace) -> int:
    from spc_rules.session import report  # noqa: PLC0415 - plotly loads for this command only

    sessions = [_with_spec(store.load(p), args) for p in args.sessions]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = report.write(
        sessions,
        out,
        target=args.target,
        metric=args.metric,
        png=args.png,
        carbon_intensity=args.carbon_intensity,
    )
    for path in written:
        print(path)
    return 0


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "capture": _capture,
    "summarize": _summarize,
    "compare": _compare,
    "trend": _trend,
    "report": _report,
}
