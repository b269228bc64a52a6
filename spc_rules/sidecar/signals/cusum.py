"""Tabular CUSUM over the standardized points (docs/spc.md, "CUSUM"): ``cusum: true`` or
``cusum: {k: 0.5, h: 5}``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import yaml

from servicekit.yamlconf import Reader
from spc_rules import cusum
from spc_rules.sidecar.signals.base import FloatArray, SignalKind, Step


@dataclass(frozen=True)
class Cusum:
    k: float = 0.5
    h: float = 5.0
    name: ClassVar[str] = "cusum"
    state_size: ClassVar[int] = 2  # C+ and C-

    def run(self, z: FloatArray, state: FloatArray) -> Step:
        c = cusum(z, 0.0, 1.0, k=self.k, h=self.h, initial=(state[:, 0], state[:, 1]))
        side = np.where(c.signal_upper, 1.0, np.where(c.signal_lower, -1.0, 0.0))
        last = np.stack([np.asarray(c.last_upper), np.asarray(c.last_lower)], axis=1)
        return Step(c.signal, side, last.astype(np.float64).reshape(-1, 2))


def _read(reader: Reader, keys: Mapping[str, yaml.Node], path: str) -> Cusum:
    k = reader.optional(keys, "k", path, lambda n, p: reader.number(n, p, 0.0), 0.5)
    h = reader.optional(keys, "h", path, lambda n, p: reader.number(n, p, 0.0), 5.0)
    return Cusum(k, h)


KIND = SignalKind("cusum", ("k", "h"), _read)
