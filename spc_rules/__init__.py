"""SPC engine for LLMscope: control limits, p-charts, Nelson rules 1-8, capability, EWMA, CUSUM.

Pure numpy/scipy, no I/O; the definitions are those of the project's SPC conventions page
(docs/spc.md documents every convention these functions follow).
"""

import spc_rules._blas  # noqa: F401  (before numpy loads: one BLAS thread, see the module)
from spc_rules.detectors.ewma_cusum import CusumResult, EwmaResult, cusum, ewma, ewma_limit
from spc_rules.engine.capability import BatchCapability, Capability, capability, capability_batch
from spc_rules.engine.limits import (
    MAX_REFITS,
    MIN_POINTS,
    SIGMA_METHODS,
    BatchLimits,
    Limits,
    SigmaMethod,
    fit_limits,
    fit_limits_batch,
    judge,
    to_fit_scale,
)
from spc_rules.engine.nelson import RULE_COUNT, RULE_DESCRIPTIONS, nelson_rules, zscores
from spc_rules.engine.pchart import PLimits, fit_p, midp_scores

__all__ = [
    "MAX_REFITS",
    "MIN_POINTS",
    "RULE_COUNT",
    "RULE_DESCRIPTIONS",
    "SIGMA_METHODS",
    "BatchCapability",
    "BatchLimits",
    "Capability",
    "CusumResult",
    "EwmaResult",
    "Limits",
    "PLimits",
    "SigmaMethod",
    "capability",
    "capability_batch",
    "cusum",
    "ewma",
    "ewma_limit",
    "fit_limits",
    "fit_limits_batch",
    "fit_p",
    "judge",
    "midp_scores",
    "nelson_rules",
    "to_fit_scale",
    "zscores",
]
