"""The sidecar's info signals besides the Nelson rules (EWMA, CUSUM, ...): one module each.

A module here defines ``KIND``, a :class:`~spc_rules.sidecar.signals.base.SignalKind`: its
chart key (also its ``rule`` label value), the YAML keys of its settings and how to read
them. The configured settings run the detector. Adding a detector is adding a module and its
test: the chart reader, the judging stage, the ledger and the published ``rule`` values all
take the kinds from :data:`KINDS`, found here by name.
"""

from __future__ import annotations

import importlib
import pkgutil

from spc_rules.sidecar.signals.base import SignalKind


def _discover() -> dict[str, SignalKind]:
    kinds: dict[str, SignalKind] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name == "base":
            continue
        kind = getattr(importlib.import_module(f"{__name__}.{info.name}"), "KIND", None)
        if isinstance(kind, SignalKind):
            kinds[kind.name] = kind
    return kinds


KINDS: dict[str, SignalKind] = _discover()
