"""The failure chart a CSV replay needs when the chart file names none.

The live stack judges failed probes whatever the charts are: the built-in ``probe_errors``
p chart (failed probes out of all probes, 5-minute subgroups, Laney's p') and its failure
runs (``incidents.failures``). A file that names no failure chart gets the same chart over
the CSV's failed rows: numerator ``<metric>_count{error_type!=""}``, denominator
``<metric>_count``, by every label the file's charts of that metric group by. It is added
to the file's own YAML and loaded again, so the file's ``global`` settings apply to it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import yaml

from spc_rules.backtest.csvinput import Probes
from spc_rules.sidecar.config.loader import SidecarConfig, load_text

NAME = "probe_errors"


def with_failure_chart(config: SidecarConfig, text: str, probes: Probes) -> SidecarConfig:
    """``config`` (read from ``text``) with a failure chart, when it has none and the CSV
    has failed rows; the metric with the most failed rows is the one counted."""
    if config.incidents.failures:
        return config
    failed = Counter(g.metric for g in probes.groups if g.error for _ in g.stamps_ms)
    if not failed:
        return config
    metric = min(failed, key=lambda m: (-failed[m], m))
    by: list[str] = []
    charts = [c for c in config.charts if c.metric == metric and c.proportion is None]
    for chart in charts or config.charts:
        by += [label for label in chart.by if label not in by]
    names = {c.name for c in config.charts}
    name = NAME if NAME not in names else f"backtest_{NAME}"
    label = config.incidents.reason_label
    doc: dict[str, Any] = yaml.safe_load(text)
    doc["charts"].append(
        {
            "name": name,
            "kind": "p",
            "numerator": f'{metric}_count{{{label}!=""}}',
            "denominator": f"{metric}_count",
            "by": by,
            "subgroup": "5m",
            "laney": True,
        }
    )
    incidents = doc.get("incidents") or {}
    incidents["failures"] = name
    doc["incidents"] = incidents
    return load_text(yaml.safe_dump(doc, sort_keys=False), config.source)
