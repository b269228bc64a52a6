"""The fleets of ``benchmarks.incidents`` write what its table says they hold: the scenario's
probes, and only they, move by the ratio (or fail with the reason) during the incident."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path

import pytest

from benchmarks.incident_fleets import DURATION, SCENARIOS, Timing, write_fleet

WHEN = Timing(cadence=60.0, calm=3600.0, lasting=1800.0, after=600.0)


def _by_probe(path: Path) -> dict[tuple[str, str], dict[str, list[float]]]:
    """Per (target, vantage): ln durations before and during the incident, and failures."""
    out: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["metric"] != DURATION:
                continue
            t, probe = float(row["timestamp"]), (row["target"], row["vantage"])
            during = WHEN.start <= t < WHEN.end
            if row["error"]:
                out[probe]["failed"].append(t)
                assert during and row["value"] == ""
            elif during:
                out[probe]["during"].append(math.log(float(row["value"])))
            elif t < WHEN.start:
                out[probe]["before"].append(math.log(float(row["value"])))
    return out


@pytest.mark.parametrize("index", range(len(SCENARIOS)), ids=[s.name for s in SCENARIOS])
def test_only_the_scenarios_probes_move_and_by_its_ratio(tmp_path: Path, index: int) -> None:
    scenario = SCENARIOS[index]
    probes = _by_probe(write_fleet(tmp_path / "f.csv", scenario, WHEN, seed=1))
    assert len(probes) == 18
    hit = 0
    for (target, vantage), seen in probes.items():
        model = target.split("/")[1]
        endpoint = next(e for e in ("alpha", "beta", "gamma") if target.startswith(e))
        mine = scenario.hits(f"https://api.{endpoint}.example:443", model, vantage)
        hit += mine
        if mine and scenario.error:
            assert len(seen["failed"]) == 30 and not seen["during"]
            continue
        assert not seen["failed"]
        shift = sum(seen["during"]) / 30 - sum(seen["before"]) / len(seen["before"])
        expected = math.log(scenario.ratio) if mine else 0.0
        assert abs(shift - expected) < 0.2, (target, vantage, shift)
    assert hit == {"target": 2, "model": 6, "endpoint": 6, "vantage": 9}[scenario.scope]
