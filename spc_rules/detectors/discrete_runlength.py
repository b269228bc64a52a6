"""Run lengths of the clipped CUSUM when the points take a few discrete values.

The paging designs (paging.py) are solved for normal z. Attribute charts feed the detector
scores that take one value per possible count (mid-p normal scores of a binomial point, see
spc_rules.engine.pchart), so the in-control run length must be checked on that distribution:
the same Brook-Evans chain as runlength.py, with every transition a point mass split between
the two cells whose centers bracket its landing point. Mixtures (points of several sizes, each
with its own distribution) are one distribution whose masses are weighted by each size's share.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from spc_rules.detectors.runlength import DEFAULT_STATES, FloatArray, add_point_mass


def discrete_transition_matrix(
    h: float, k: float, clip: float, values: ArrayLike, probs: ArrayLike, *, states: int
) -> FloatArray:
    """Substochastic (states x states) matrix of S = max(0, S + clip(y, -c, c) - k) on [0, h]."""
    y = np.asarray(values, dtype=np.float64).ravel()
    mass = np.asarray(probs, dtype=np.float64).ravel()
    if y.shape != mass.shape or not h > 0 or states < 2 or not clip > k >= 0:
        raise ValueError(f"bad chart or distribution: h={h}, k={k}, clip={clip}")
    if np.any(mass < 0) or not abs(float(mass.sum()) - 1.0) < 1e-9:
        raise ValueError("probabilities must be non-negative and sum to 1")
    q = np.zeros((states, states))
    for step, m in zip(np.clip(y, -clip, clip) - k, mass, strict=True):
        if m > 0.0:
            add_point_mass(q, float(step), float(m), h)
    return q


def discrete_arl(
    h: float,
    k: float,
    clip: float,
    values: ArrayLike,
    probs: ArrayLike,
    *,
    states: int = DEFAULT_STATES,
) -> float:
    """Zero-state ARL (points) of the clipped one-sided CUSUM on points y with P(y = values[i])
    = probs[i]; the down side of a chart is this with the values negated."""
    y = np.asarray(values, dtype=np.float64)
    if not np.any((np.clip(y, -clip, clip) - k > 0) & (np.asarray(probs) > 0)):
        return math.inf  # S never grows: the chart cannot alarm
    q = discrete_transition_matrix(h, k, clip, values, probs, states=states)
    try:
        return float(np.linalg.solve(np.eye(states) - q, np.ones(states))[0])
    except np.linalg.LinAlgError:  # alarms too rare for double precision: beyond any budget
        return math.inf
