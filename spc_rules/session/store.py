"""Reading a session folder back, with one clear line for anything wrong in it."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from servicekit.errors import LLMscopeError
from servicekit.sessionformat import (
    FORMAT_VERSION,
    METADATA_FILE,
    POINT_COLUMNS,
    POINTS_FILE,
    PROBES_FILE,
)
from spc_rules.sidecar.config.loader import builtin_config
from spc_rules.sidecar.query.decode import FloatArray


class SessionError(LLMscopeError):
    """A session cannot be read or used as asked; the message is one line."""


@dataclass(frozen=True)
class MetricSpec:
    """How a metric is judged: its transform and its spec limits (an SLO), if any."""

    name: str
    unit: str
    log: bool
    usl: float | None = None
    lsl: float | None = None


@dataclass(frozen=True)
class Series:
    """The points of one target and metric, in time order."""

    target: str
    metric: str
    times: FloatArray
    values: FloatArray
    sizes: FloatArray


@dataclass(frozen=True)
class ProbeEnergy:
    """The successful probes of one target whose energy was measured, in time order."""

    joules: FloatArray  # CPU and GPU together, as measured
    output_tokens: FloatArray  # NaN where unknown
    durations: FloatArray


@dataclass(frozen=True)
class Session:
    path: Path
    metadata: Mapping[str, object]
    metrics: Mapping[str, MetricSpec]
    series: Mapping[tuple[str, str], Series]  # (target, metric)
    errors: Mapping[str, Counter[str]] | None  # per target, from probes.csv (bench only)
    probes: Mapping[str, int] | None
    # Per target; None for sessions without energy columns (captures, format 1).
    energy: Mapping[str, ProbeEnergy] | None = None

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def targets(self) -> list[str]:
        return sorted({t for t, _ in self.series})

    @property
    def metric_names(self) -> list[str]:
        return sorted({m for _, m in self.series})

    @property
    def start(self) -> float | None:
        value = self.metadata.get("start")
        return float(value) if isinstance(value, int | float) else None


def load(folder: str | Path) -> Session:
    path = Path(folder)
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        raise SessionError(f"session folder {path} {what}")
    metadata = _metadata(path / METADATA_FILE)
    metrics = _metrics(path, metadata)
    series = _points(path / POINTS_FILE)
    if not series:
        raise SessionError(f"session {path} holds no points ({path / POINTS_FILE} is empty)")
    unknown = sorted({m for _, m in series} - set(metrics))
    if unknown:
        raise SessionError(f"{path / POINTS_FILE}: metric {unknown[0]} is not in metadata.json")
    errors, probes, energy = _probes(path / PROBES_FILE)
    return Session(path, metadata, metrics, series, errors, probes, energy)


def _read_text(file: Path) -> str:
    if not file.exists():
        raise SessionError(f"{file.parent} is not a session folder: {file.name} is missing")
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise SessionError(f"cannot read {file}: {reason}") from None


def _metadata(file: Path) -> dict[str, object]:
    try:
        doc = json.loads(_read_text(file))
    except json.JSONDecodeError as err:
        raise SessionError(f"{file}:{err.lineno}: not valid JSON: {err.msg}") from None
    if not isinstance(doc, dict):
        raise SessionError(f"{file}: expected a JSON object")
    version = doc.get("format")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise SessionError(
            f"{file}: format {version!r} is not one this version reads (1..{FORMAT_VERSION})"
        )
    return doc


def _metrics(path: Path, metadata: Mapping[str, object]) -> dict[str, MetricSpec]:
    raw = metadata.get("metrics")
    if not isinstance(raw, dict):
        raise SessionError(f"{path / METADATA_FILE}: metrics must be an object")
    out: dict[str, MetricSpec] = {}
    for name, given in raw.items():
        entry = given if isinstance(given, dict) else {}
        unit = str(entry.get("unit", ""))
        log = entry.get("log")
        out[name] = MetricSpec(
            name,
            unit,
            log if isinstance(log, bool) else default_log(name, unit),
            _limit(entry.get("usl")),
            _limit(entry.get("lsl")),
        )
    return out


def _limit(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


@cache
def _builtin_transforms() -> dict[str, bool]:
    return {c.name: c.log for c in builtin_config().charts}


def default_log(name: str, unit: str) -> bool:
    """A metric's transform when the session does not say: the built-in chart's of the same
    name (docs/sidecar.md), else log for durations, none for anything else."""
    return _builtin_transforms().get(name, unit == "seconds")


def _points(file: Path) -> dict[tuple[str, str], Series]:
    reader = csv.reader(_read_text(file).splitlines())
    header = next(reader, None)
    if header is None:
        return {}
    if tuple(header) != POINT_COLUMNS:
        raise SessionError(
            f"{file}:1: expected columns {','.join(POINT_COLUMNS)}, got {','.join(header)}"
        )
    rows: dict[tuple[str, str], list[tuple[float, float, float]]] = defaultdict(list)
    for line, row in enumerate(reader, start=2):
        if len(row) != len(POINT_COLUMNS):
            raise SessionError(f"{file}:{line}: expected {len(POINT_COLUMNS)} fields")
        time, target, metric, value, size = row
        try:
            numbers = (float(time), float(value), float(size or 1))
        except ValueError:
            raise SessionError(f"{file}:{line}: time, value and size must be numbers") from None
        if not all(math.isfinite(x) for x in numbers) or numbers[2] < 1:
            raise SessionError(f"{file}:{line}: not a finite point of size >= 1")
        rows[(target, metric)].append(numbers)
    out = {}
    for (target, metric), items in sorted(rows.items()):
        arr = np.array(items, dtype=np.float64)
        order = np.argsort(arr[:, 0], kind="stable")
        arr = arr[order]
        out[(target, metric)] = Series(target, metric, arr[:, 0], arr[:, 1], arr[:, 2])
    return out


_Counts = tuple[
    dict[str, Counter[str]] | None, dict[str, int] | None, dict[str, ProbeEnergy] | None
]
ENERGY_COLUMNS = ("cpu_energy_joules", "gpu_energy_joules")


def _probes(file: Path) -> _Counts:
    """Failed probes by reason, probes per target and the energy of the successful ones;
    None for a session without probes (and no energy without the energy columns)."""
    if not file.exists():
        return None, None, None
    errors: dict[str, Counter[str]] = defaultdict(Counter)
    probes: Counter[str] = Counter()
    rows: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    reader = csv.DictReader(_read_text(file).splitlines())
    has_energy = set(ENERGY_COLUMNS) <= set(reader.fieldnames or ())
    for line, row in enumerate(reader, start=2):
        target = row.get("target") or ""
        probes[target] += 1
        if row.get("error"):
            errors[target][row["error"]] += 1
        elif has_energy:
            measured = _energy_row(file, line, row)
            if measured is not None:
                rows[target].append(measured)
    energy = None
    if has_energy:
        energy = {
            t: ProbeEnergy(*(np.array(column, dtype=np.float64) for column in zip(*r, strict=True)))
            for t, r in rows.items()
        }
    return dict(errors), dict(probes), energy


def _energy_row(file: Path, line: int, row: Mapping[str, str]) -> tuple[float, float, float] | None:
    """(joules, output tokens, duration) of a successful probe; None without energy."""
    cells = [row.get(c) or "" for c in ENERGY_COLUMNS]
    if not any(cells):
        return None
    try:
        joules = sum(float(c) for c in cells if c)
        tokens = float(row.get("output_tokens") or "nan")
        duration = float(row.get("duration_seconds") or "nan")
    except ValueError:
        raise SessionError(
            f"{file}:{line}: energy, output_tokens and duration_seconds must be numbers"
        ) from None
    if not math.isfinite(joules) or joules < 0:
        raise SessionError(f"{file}:{line}: energy must be a finite number >= 0")
    return joules, tokens, duration
