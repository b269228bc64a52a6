"""The session folder both research commands write: file names, columns, metric names.

``llmscope-exporter bench`` and ``llmscope-spc session capture`` write the same layout, and
``llmscope-spc session compare | trend | report`` read it; the two services may not import
each other, so the format is defined here, once (docs/research.md describes it):

- ``points.csv``: one SPC point a row, ``time,target,metric,value,size``. A point is what the
  sidecar rebuilds from a histogram between two scrapes: one observation (size 1) or the mean
  of ``size`` observations. Metric names are the sidecar's built-in chart names.
- ``probes.csv``: every probe's record (bench sessions only; a capture has no probes).
- ``metadata.json``: what was measured, how, where and when (docs/research.md lists its keys).
- ``summary.json``: per target and metric, written by ``llmscope-spc session summarize``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from servicekit.version import VERSION
from servicekit.yamlconf import parse_duration

# 2: probes.csv gained the energy columns and metadata.json its "energy" object. Readers
# take every version up to this one: a format 1 session simply has no energy.
FORMAT_VERSION = 2
POINTS_FILE = "points.csv"
PROBES_FILE = "probes.csv"
METADATA_FILE = "metadata.json"
SUMMARY_FILE = "summary.json"

POINT_COLUMNS = ("time", "target", "metric", "value", "size")
PROBE_COLUMNS = (
    "time",  # unix seconds at the start of the probe
    "target",
    "duration_seconds",
    "ttft_seconds",
    "chunks",
    "gap_mean_seconds",
    "gap_p50_seconds",
    "gap_p95_seconds",
    "gap_max_seconds",
    "input_tokens",
    "output_tokens",
    "tokens_estimated",
    "output_tokens_per_second",
    "cost_usd",
    "status",
    "error",  # the bounded reason, empty on success
    "cpu_energy_joules",  # CPU packages (RAPL) charged to the probe; empty when not measured
    "gpu_energy_joules",  # the target's GPUs (NVML); empty when not measured
)


@dataclass(frozen=True)
class SessionMetric:
    name: str
    unit: str


# The built-in charts of the sidecar (spc_rules/data/default.yml) under the same names.
DURATION = SessionMetric("duration", "seconds")
TIME_TO_FIRST_CHUNK = SessionMetric("time_to_first_chunk", "seconds")
TIME_PER_OUTPUT_CHUNK = SessionMetric("time_per_output_chunk", "seconds")
OUTPUT_TOKENS_PER_SECOND = SessionMetric("output_tokens_per_second", "tokens/s")
PROBE_METRICS = (DURATION, TIME_TO_FIRST_CHUNK, TIME_PER_OUTPUT_CHUNK, OUTPUT_TOKENS_PER_SECOND)


@dataclass(frozen=True)
class Point:
    time: float
    target: str
    metric: str
    value: float
    size: float = 1.0


def format_number(value: float | int | None) -> str:
    """CSV text of a number: empty for None or NaN, shortest exact form otherwise."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def format_time(t: float) -> str:
    """Unix seconds to the millisecond, the same text in every file of a session."""
    return f"{t:.3f}"


def write_points(folder: Path, points: Iterable[Point]) -> int:
    """Write points.csv; returns how many rows it holds."""
    rows = 0
    with (folder / POINTS_FILE).open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(POINT_COLUMNS)
        for p in points:
            out.writerow(
                [
                    format_time(p.time),
                    p.target,
                    p.metric,
                    format_number(p.value),
                    format_number(p.size),
                ]
            )
            rows += 1
    return rows


def write_rows(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> None:
    """A CSV with a header; numbers as ``format_number`` writes them, None as empty."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(columns)
        for row in rows:
            out.writerow([_cell(row.get(c)) for c in columns])


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(value)
    return str(value)


def write_json(path: Path, document: Mapping[str, object]) -> None:
    """JSON with NaN and infinities written as null, which strict readers accept."""
    path.write_text(json.dumps(_clean(document), indent=2) + "\n", encoding="utf-8")


def _clean(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def versions() -> dict[str, str]:
    """The versions that can change a measurement: LLMscope's, Python's, and the libraries
    that send requests and compute statistics."""
    out = {"llmscope": VERSION, "python": platform.python_version()}
    for dist in ("httpx", "numpy", "scipy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def machine() -> dict[str, object]:
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "architecture": platform.machine(),
        "cpus": os.cpu_count(),
    }


def parse_spec(text: str, units: Mapping[str, str]) -> tuple[str, float]:
    """``duration=2s``, ``time_to_first_chunk=500ms``, ``output_tokens_per_second=20``: a
    metric of ``units`` (name -> unit) and a spec limit; durations for metrics in seconds.
    Raises ValueError with a message that names the problem."""
    name, sep, raw = text.partition("=")
    if not sep or name not in units:
        raise ValueError(f'"{text}": expected METRIC=VALUE with METRIC one of {", ".join(units)}')
    try:
        return name, float(raw)
    except ValueError:
        if units[name] != "seconds":
            raise ValueError(f'"{text}": {raw!r} is not a number') from None
    try:
        return name, parse_duration(raw)
    except ValueError as err:
        raise ValueError(f'"{text}": {err}') from None


def add_spec_flags(p: argparse.ArgumentParser, convert: Callable[[str], object]) -> None:
    """``--usl`` and ``--lsl METRIC=VALUE``, repeatable; ``convert`` reads one value."""
    for flag, example in (
        ("usl", "upper spec limit (an SLO), e.g. duration=2s"),
        ("lsl", "lower spec limit, e.g. output_tokens_per_second=20"),
    ):
        p.add_argument(
            f"--{flag}",
            type=convert,
            action="append",
            default=[],
            metavar="METRIC=VALUE",
            help=f"{example}; repeatable",
        )


def new_session_folder(folder: Path) -> str | None:
    """Why ``folder`` cannot hold a new session, or None after creating it (a session is
    never written over another)."""
    try:
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            return f"{folder} is not an empty folder: give a new session folder"
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        return f"cannot create {folder}: {err.strerror or err}"
    return None
