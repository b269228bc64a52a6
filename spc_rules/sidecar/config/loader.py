"""The sidecar's configuration: global settings and charts, typed, frozen, validated at load.

Every problem in a file is reported together, one line each, with its YAML path and line
(``spc.yml:9: charts[0].baseline: ...``), by the exporter's line-numbered reader. The chart
keys themselves are read in ``spc_rules.sidecar.config.charts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from servicekit.yamlconf import Reader, join_path, load_document, read_file
from spc_rules.sidecar.config.detectors import read_paging
from spc_rules.sidecar.config.incidents import check_failures, read_incidents
from spc_rules.sidecar.config.model import ChartConfig, ChartDefaults, IncidentSettings
from spc_rules.sidecar.config.presets import (
    NO_PRESETS,
    PresetSelection,
    read_charts,
    read_selection,
)

DEFAULT_INTERVAL = 30.0
BUILTIN_SOURCE = "built-in default"
NO_CHARTS = "at least one chart is required, or presets"

_GLOBAL_KEYS = frozenset(
    {
        "interval",
        "query_timeout",
        "max_range",
        "lookback",
        "overlap",
        "max_concurrent_queries",
        "baseline_refresh",
        "compression",
        "max_answer_bytes",
        "evaluation",
        "baseline",
        "hold",
        "min_points",
        "paging",
        "presets_refresh",
    }
)


@dataclass(frozen=True)
class SidecarConfig:
    charts: tuple[ChartConfig, ...]
    interval: float = DEFAULT_INTERVAL
    # One HTTP query never waits longer than this (the server is asked to stop then too).
    query_timeout: float = 30.0
    # The longest sub-window one query asks for; longer windows are fetched in pieces.
    max_range: float = 2 * 3600.0
    # Samples fetched before a window, so that its first point has the scrape before it.
    lookback: float = 300.0
    # How far each cycle's query reaches back into what the sample cache holds, for samples
    # stored after the previous query with an older timestamp (docs/sidecar.md).
    overlap: float = 60.0
    max_concurrent_queries: int = 4
    # How often a baseline pinned to a fixed time range is fetched again (late series).
    baseline_refresh: float = 600.0
    # Ask the API for gzip: worth it across a slow network, not on a local one.
    compression: bool = False
    # The largest answer read (after gzip): past it the query fails rather than the process
    # (a peer that never ends its body); a 2 h piece at 10,000 series is about 200 MB.
    max_answer_bytes: int = 1 << 30
    incidents: IncidentSettings = field(default_factory=IncidentSettings)
    source: str = BUILTIN_SOURCE
    # Engine presets to add once Prometheus says which exist (config/presets.py), asked
    # again this often (sidecar/presetwatch.py).
    presets: PresetSelection = NO_PRESETS
    presets_refresh: float = 300.0


def load_file(path: str | Path) -> SidecarConfig:
    return load_text(read_file(path), str(path))


def builtin_config() -> SidecarConfig:
    """The default charts over the exporter's own histograms (spc_rules/data/default.yml)."""
    text = resources.files("spc_rules").joinpath("data/default.yml").read_text(encoding="utf-8")
    return load_text(text, BUILTIN_SOURCE)


def load_text(text: str, source: str) -> SidecarConfig:
    return load_document(text, source, lambda r, root: _config(r, root, source))


def _config(reader: Reader, root: yaml.Node, source: str) -> SidecarConfig | None:
    keys = reader.mapping(root, "", {"global", "charts", "presets", "incidents"})
    if keys is None:
        return None
    g = keys.get("global")
    gkeys = (reader.mapping(g, "global", _GLOBAL_KEYS) if g is not None else {}) or {}
    opt, p = reader.optional, "global"
    base = SidecarConfig(charts=())
    defaults = ChartDefaults()
    defaults = ChartDefaults(
        evaluation=opt(gkeys, "evaluation", p, reader.duration, defaults.evaluation),
        baseline=opt(gkeys, "baseline", p, reader.duration, defaults.baseline),
        hold=opt(gkeys, "hold", p, lambda n, q: reader.duration(n, q, False), defaults.hold),
        min_points=opt(
            gkeys, "min_points", p, lambda n, q: reader.integer(n, q, 2), defaults.min_points
        ),
        paging=read_paging(reader, gkeys.get("paging"), "global.paging", defaults.paging),
    )
    charts_node = keys.get("charts")
    # A file without charts charts what it finds (presets: auto) unless it says otherwise.
    selection = read_selection(
        reader, keys.get("presets"), "auto" if charts_node is None else "none", defaults
    )
    if charts_node is None and selection.mode == "none":
        reader.fail(root, "charts", NO_CHARTS)
        return None
    items = [] if charts_node is None else reader.sequence(charts_node, "charts")
    if charts_node is not None and items is not None and not items and selection.mode == "none":
        reader.fail(charts_node, "charts", NO_CHARTS)
    _duplicates(reader, items or [])
    charts, selection = read_charts(reader, items or [], defaults, selection)
    names = [c.name for c in charts]
    charts = [c for i, c in enumerate(charts) if c.name not in names[:i]]
    node = keys.get("incidents")
    incidents = read_incidents(reader, node, "incidents")
    incidents = check_failures(reader, node, incidents, charts)
    return SidecarConfig(
        charts=tuple(charts),
        interval=opt(gkeys, "interval", p, reader.duration, base.interval),
        query_timeout=opt(gkeys, "query_timeout", p, reader.duration, base.query_timeout),
        max_range=opt(gkeys, "max_range", p, reader.duration, base.max_range),
        lookback=opt(gkeys, "lookback", p, reader.duration, base.lookback),
        overlap=opt(gkeys, "overlap", p, reader.duration, base.overlap),
        max_concurrent_queries=opt(
            gkeys,
            "max_concurrent_queries",
            p,
            lambda n, q: reader.integer(n, q, 1),
            base.max_concurrent_queries,
        ),
        baseline_refresh=opt(gkeys, "baseline_refresh", p, reader.duration, base.baseline_refresh),
        compression=opt(
            gkeys, "compression", p, lambda n, q: reader.choice(n, q, ("gzip", "none")), "none"
        )
        == "gzip",
        max_answer_bytes=opt(
            gkeys,
            "max_answer_bytes",
            p,
            lambda n, q: reader.integer(n, q, 1 << 20),
            base.max_answer_bytes,
        ),
        incidents=incidents,
        source=source,
        presets=selection,
        presets_refresh=opt(gkeys, "presets_refresh", p, reader.duration, base.presets_refresh),
    )


def _duplicates(reader: Reader, items: list[yaml.Node]) -> None:
    """One problem per repeated chart name, at its second entry, naming every line it is on;
    read from the YAML itself, so entries with other errors count too."""
    lines: dict[str, list[tuple[int, yaml.Node, int]]] = {}
    for i, item in enumerate(items):
        if not isinstance(item, yaml.MappingNode):
            continue
        for key, value in item.value:
            if getattr(key, "value", None) == "name" and isinstance(value, yaml.ScalarNode):
                lines.setdefault(value.value, []).append((i, value, value.start_mark.line + 1))
    for name, where in lines.items():
        if len(where) > 1:
            i, node, _ = where[1]
            others = ", ".join(str(line) for _, _, line in where if line != where[1][2])
            reader.fail(
                node,
                join_path(join_path("charts", i), "name"),
                f'duplicate chart name "{name}" (also at line{"s" if len(where) > 2 else ""} '
                f"{others})",
            )
