"""The info-signal registry: every detector module is found, read from a chart's key, and
carries its state across cycles exactly as one pass over the same points."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from spc_rules import cusum, ewma
from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.signals import KINDS
from spc_rules.sidecar.signals.base import BoolArray, Detector, FloatArray
from spc_rules.sidecar.signals.cusum import Cusum
from spc_rules.sidecar.signals.ewma import Ewma


def test_the_registry_finds_each_detector_module_by_its_kind() -> None:
    assert sorted(KINDS) == ["cusum", "ewma"]
    assert KINDS["ewma"].keys == ("lambda", "width")
    assert KINDS["cusum"].keys == ("k", "h")


def test_a_chart_key_per_registered_kind_configures_that_detector() -> None:
    config = load_text(
        "charts:\n  - {name: a, metric: m, ewma: {lambda: 0.3}, cusum: {h: 4}, rules: [1]}\n",
        "t.yml",
    )
    chart = config.charts[0]
    assert chart.detectors == (Cusum(h=4.0), Ewma(lam=0.3))
    assert chart.signals == ("1", "cusum", "ewma")


@pytest.mark.parametrize(
    ("detector", "one_pass"),
    [
        (Ewma(0.2, 2.7), lambda z: ewma(z, 0.0, 1.0, lam=0.2, width=2.7).signal),
        (Cusum(0.5, 4.0), lambda z: cusum(z, 0.0, 1.0, k=0.5, h=4.0).signal),
    ],
)
def test_a_detector_run_in_pieces_flags_what_one_pass_flags(
    detector: Detector, one_pass: Callable[[FloatArray], BoolArray]
) -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(np.where(np.arange(300) > 150, 1.0, 0.0), 1.0)[None, :]
    state = np.zeros((1, detector.state_size))
    flags = []
    for piece in np.array_split(z, 7, axis=1):
        step = detector.run(piece, state)
        flags.append(step.signal)
        state = step.state
    pieces = np.concatenate(flags, axis=1)
    assert pieces.any()
    assert (pieces == one_pass(z)).all()
