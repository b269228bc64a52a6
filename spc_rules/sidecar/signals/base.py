"""What an info signal is to the sidecar: settings that run over standardized points.

A detector runs on z (sigma units, NaN where a series has no new point) one cycle at a time,
continuing from the state its series carried out of the previous cycle; its state is a few
floats per series (``state_size``), zero for a series never judged or without limits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import yaml
from numpy.typing import NDArray

from servicekit.yamlconf import Reader

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Step:
    """One cycle of one detector over z (series, points)."""

    signal: BoolArray  # (series, points): the statistic beyond its limit
    side: FloatArray  # (series, points): +1 above the center, -1 below
    state: FloatArray  # (series, state_size): the state after each series' newest point


class Detector(Protocol):
    """A configured detector: frozen, comparable settings that can run."""

    @property
    def name(self) -> str: ...

    @property
    def state_size(self) -> int: ...

    def run(self, z: FloatArray, state: FloatArray) -> Step: ...


# (reader, the settings' mapping, its YAML path) -> settings, or None after reader.fail
Read = Callable[[Reader, Mapping[str, yaml.Node], str], Detector | None]


@dataclass(frozen=True)
class SignalKind:
    name: str  # the chart key, and the ``rule`` label value of its flags
    keys: tuple[str, ...]  # the settings a chart may give under its key
    read: Read
