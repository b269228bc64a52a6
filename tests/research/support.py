"""Running the research commands as a user does, and session folders written by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from servicekit.sessionformat import METADATA_FILE, Point, write_points

# Fast simulated targets: a probe takes tens of milliseconds. Draws are seeded, so the
# statistics below depend mostly on the draws; durations are still measured on the machine's
# clock, and its load adds a few milliseconds that differ from one session to the next.
FAST_TARGETS = """
targets:
  - name: steady
    provider: simulated
    model: sim
    seed: {steady_seed}
    ttft: 20ms
    gap: 2ms
    max_tokens: 8
  - name: slowed
    provider: simulated
    model: sim
    seed: {slowed_seed}
    ttft: 20ms
    gap: 2ms
    max_tokens: 8
{scenario}"""
SLOWDOWN = "    scenario: {kind: mean_shift, factor: 1.6}\n"


def fast_config(folder: Path, name: str, *, slowdown: bool, seeds: tuple[int, int]) -> Path:
    path = folder / name
    path.write_text(
        FAST_TARGETS.format(
            steady_seed=seeds[0], slowed_seed=seeds[1], scenario=SLOWDOWN if slowdown else ""
        )
    )
    return path


def run(
    module: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def exporter(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run("exporter", *args, env=env)


def spc(*args: str) -> subprocess.CompletedProcess[str]:
    return run("spc_rules", *args)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed command; fails when there are more, or a traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def write_session(
    folder: Path,
    points: Iterable[Point],
    metrics: Mapping[str, Mapping[str, object]],
    start: float = 1_700_000_000.0,
) -> Path:
    folder.mkdir(parents=True)
    write_points(folder, points)
    (folder / METADATA_FILE).write_text(
        json.dumps(
            {"format": 1, "kind": "bench", "metrics": metrics, "start": start, "end": start + 60}
        )
    )
    return folder
