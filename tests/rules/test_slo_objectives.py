"""Latency SLO declarations: every threshold reads a real bucket of the exporter's duration
histogram, and every target has both a threshold and an objective."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.metrics.buckets import DURATION_BUCKETS
from tests.rules import _bundle as b

THRESHOLD = "target:llmscope_slo_latency_threshold_seconds:static"
OBJECTIVE = "target:llmscope_slo_latency_objective_ratio:static"
FILES = [b.RULES_DIR / "slo.yml", b.PROMTOOL_TESTS_DIR / "fixtures" / "slo_objectives.yml"]


def _le(value: float) -> str:
    # How prometheus_client spells a bucket boundary in the `le` label.
    return repr(float(value))


def _constant(expr: str) -> float:
    assert expr.startswith("vector(") and expr.endswith(")"), f"not a constant: {expr}"
    return float(expr.removeprefix("vector(").removesuffix(")"))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_thresholds_are_duration_buckets_spelled_as_the_exporter_spells_them(path: Path) -> None:
    thresholds = [r for r in b.read_rules(path) if r.name == THRESHOLD]
    assert thresholds, f"{path.name} declares no SLO"
    for rule in thresholds:
        value = _constant(rule.expr)
        assert value in DURATION_BUCKETS, f"{rule.labels['target']}: {value} is not a bucket"
        assert rule.labels["le"] == _le(value), f"{rule.labels['target']}: le must be {_le(value)}"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_each_slo_target_has_one_threshold_and_one_objective_below_one(path: Path) -> None:
    rules = b.read_rules(path)
    thresholds = [r.labels["target"] for r in rules if r.name == THRESHOLD]
    objectives = {r.labels["target"]: _constant(r.expr) for r in rules if r.name == OBJECTIVE}
    assert len(thresholds) == len(set(thresholds))
    assert sorted(thresholds) == sorted(objectives)
    assert all(0 < ratio < 1 for ratio in objectives.values())
    # The objective series carry only `target`, so the burn-rate joins match one to one.
    assert all(set(r.labels) == {"target"} for r in rules if r.name == OBJECTIVE)
