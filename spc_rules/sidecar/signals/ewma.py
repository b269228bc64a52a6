"""EWMA over the standardized points (docs/spc.md, "EWMA"): ``ewma: true`` or
``ewma: {lambda: 0.1, width: 2.7}``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import yaml

from servicekit.yamlconf import Reader, join_path
from spc_rules import ewma
from spc_rules.sidecar.signals.base import FloatArray, SignalKind, Step


@dataclass(frozen=True)
class Ewma:
    lam: float = 0.1
    width: float = 2.7
    name: ClassVar[str] = "ewma"
    state_size: ClassVar[int] = 1  # the statistic

    def run(self, z: FloatArray, state: FloatArray) -> Step:
        e = ewma(z, 0.0, 1.0, lam=self.lam, width=self.width, initial=state[:, 0])
        last = np.asarray(e.last, dtype=np.float64).reshape(-1, 1)
        return Step(e.signal, np.sign(e.statistic), last)


def _read(reader: Reader, keys: Mapping[str, yaml.Node], path: str) -> Ewma:
    lam = reader.optional(keys, "lambda", path, reader.number, 0.1)
    if not 0 < lam <= 1:
        reader.fail(keys["lambda"], join_path(path, "lambda"), f"must be in (0, 1], got {lam:g}")
    width = reader.optional(keys, "width", path, lambda n, p: reader.number(n, p, 0.0), 2.7)
    return Ewma(lam, width)


KIND = SignalKind("ewma", ("lambda", "width"), _read)
