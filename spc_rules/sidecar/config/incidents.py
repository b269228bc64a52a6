"""Reading the ``incidents`` block: which chart counts failed probes, and how incidents settle.

incidents:
  failures: probe_errors     # a kind p chart whose numerator counts failed probes
  reason_label: error_type   # the numerator's label that names the failure reason
  min_failures: 2            # failed probes in a row before a series is failing
  settle_points: 2           # an incident waits this many points before it pages ...
  settle_max: 60s            # ... but never longer than this
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import yaml

from servicekit.yamlconf import Reader, join_path
from spc_rules.sidecar.config.model import ChartConfig, IncidentSettings

_KEYS = ("failures", "reason_label", "min_failures", "settle_points", "settle_max")


def read_incidents(reader: Reader, node: yaml.Node | None, path: str) -> IncidentSettings:
    base = IncidentSettings()
    if node is None:
        return base
    keys = reader.mapping(node, path, _KEYS) or {}
    opt = reader.optional
    return IncidentSettings(
        failures=opt(keys, "failures", path, reader.string, base.failures),
        reason_label=opt(keys, "reason_label", path, reader.string, base.reason_label),
        min_failures=opt(
            keys, "min_failures", path, lambda n, p: reader.integer(n, p, 1), base.min_failures
        ),
        settle_points=opt(
            keys, "settle_points", path, lambda n, p: reader.number(n, p, 0.0), base.settle_points
        ),
        settle_max=opt(
            keys, "settle_max", path, lambda n, p: reader.duration(n, p, False), base.settle_max
        ),
    )


def check_failures(
    reader: Reader,
    node: yaml.Node | None,
    settings: IncidentSettings,
    charts: Sequence[ChartConfig],
) -> IncidentSettings:
    """The failure chart must be a kind p chart of the file; the built-in name may be absent."""
    if not settings.failures:
        return settings
    chart = next((c for c in charts if c.name == settings.failures), None)
    where = join_path("incidents", "failures")
    if chart is None or chart.proportion is None:
        if node is not None and settings.failures != IncidentSettings().failures:
            problem = "is not a chart of this file" if chart is None else "is not a kind p chart"
            reader.fail(node, where, f'"{settings.failures}" {problem}')
        return dataclasses.replace(settings, failures="")
    return settings
