"""A probe as the session format writes it: its probes.csv row and its SPC points.

The points are those the sidecar would rebuild had each probe been scraped on its own
(``exporter.metrics.probes`` records the same values): duration of successful probes, time
to first chunk, the mean of the probe's chunk gaps as a subgroup of their number, and output
tokens per second.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from exporter.bench.energy import TargetEnergy
from exporter.bench.runner import Probed
from exporter.config.types import Config, TargetConfig
from servicekit.sessionformat import (
    DURATION,
    FORMAT_VERSION,
    OUTPUT_TOKENS_PER_SECOND,
    PROBE_METRICS,
    TIME_PER_OUTPUT_CHUNK,
    TIME_TO_FIRST_CHUNK,
    Point,
    format_time,
    machine,
    versions,
)


def probe_row(p: Probed) -> dict[str, object]:
    r = p.result
    gaps = np.asarray(r.gaps, dtype=np.float64)
    p50, p95 = np.quantile(gaps, (0.5, 0.95)) if gaps.size else (None, None)
    return {
        "time": format_time(r.timestamp),
        "target": r.target,
        "duration_seconds": r.duration,
        "ttft_seconds": r.time_to_first_chunk,
        "chunks": r.chunks,
        "gap_mean_seconds": float(gaps.mean()) if gaps.size else None,
        "gap_p50_seconds": None if p50 is None else float(p50),
        "gap_p95_seconds": None if p95 is None else float(p95),
        "gap_max_seconds": float(gaps.max()) if gaps.size else None,
        "input_tokens": r.input_tokens,
        "output_tokens": r.output_tokens,
        "tokens_estimated": r.input_estimated or r.output_estimated,
        "output_tokens_per_second": r.output_tokens_per_second,
        "cost_usd": p.cost,
        "status": r.status,
        "error": r.reason or "",
        "cpu_energy_joules": p.energy.cpu_joules if p.energy else None,
        "gpu_energy_joules": p.energy.gpu_joules if p.energy else None,
    }


def points(probed: Sequence[Probed]) -> Iterator[Point]:
    for p in probed:
        r = p.result
        if not r.success:
            continue
        yield Point(r.timestamp, r.target, DURATION.name, r.duration)
        if r.time_to_first_chunk is not None:
            yield Point(r.timestamp, r.target, TIME_TO_FIRST_CHUNK.name, r.time_to_first_chunk)
        if r.gaps:
            mean = sum(r.gaps) / len(r.gaps)
            yield Point(r.timestamp, r.target, TIME_PER_OUTPUT_CHUNK.name, mean, len(r.gaps))
        tps = r.output_tokens_per_second
        if tps is not None:
            yield Point(r.timestamp, r.target, OUTPUT_TOKENS_PER_SECOND.name, tps)


def config_digest(config: Config, targets: Sequence[TargetConfig]) -> str:
    """sha256 of the parsed settings of the probed targets: comments and key order in the
    file do not change it, any setting that changes a probe does."""
    text = repr((config.max_body_bytes, tuple(targets)))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def metadata_document(
    config: Config,
    targets: Sequence[TargetConfig],
    *,
    spec: dict[str, dict[str, float | None]],
    start: float,
    end: float,
    probes: int,
    concurrency: int,
    energy: Mapping[str, TargetEnergy],
    carbon_intensity: float | None,
) -> dict[str, object]:
    return {
        "format": FORMAT_VERSION,
        "kind": "bench",
        "targets": [
            {"name": t.name, "provider": t.provider, "model": t.model, "max_tokens": t.max_tokens}
            for t in targets
        ],
        "metrics": {
            m.name: {"unit": m.unit, **spec.get(m.name, {"usl": None, "lsl": None})}
            for m in PROBE_METRICS
        },
        "start": start,
        "end": end,
        "versions": versions(),
        "machine": machine(),
        "bench": {"probes_per_target": probes, "concurrency": concurrency},
        "config": {"source": config.source, "digest": config_digest(config, targets)},
        "energy": {
            "targets": {name: e.document() for name, e in energy.items()},
            "attribution": "each counter's step between probe events is shared equally "
            "among the probes in flight that use it",
            # Grid carbon intensity as given with --carbon-intensity; no default.
            "carbon_intensity_g_per_kwh": carbon_intensity,
        },
    }
