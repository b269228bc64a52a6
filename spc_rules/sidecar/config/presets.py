"""Preset charts over what serving engines export (vLLM, SGLang, TGI, LiteLLM, TensorRT-LLM).

A preset is chart YAML shipped in ``spc_rules/data/presets/<engine>.yml``, read by the same
chart reader as a user's file, so a preset chart is exactly a chart. A file chooses them
with ``presets:`` (``auto``: every engine found in Prometheus; a list of engines; ``none``)
and can start a chart from one and change fields::

    presets: [vllm, litellm]
    charts:
      - preset: vllm/e2e_latency     # the chart vllm_e2e_latency of presets/vllm.yml
        usl: 10s                     # every other key overrides the preset's

Which preset charts run is decided against the metric names Prometheus stores
(``resolve``; the names come from ``spc_rules.sidecar.discovery``): a histogram chart needs its
``_sum`` and ``_count``, a p chart both counters. docs/engines.md lists every preset.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Literal

import yaml

from servicekit.errors import ConfigError
from servicekit.yamlconf import Reader, join_path, load_document
from spc_rules.sidecar.config.charts import read_chart
from spc_rules.sidecar.config.model import ChartConfig, ChartDefaults

Mode = Literal["auto", "none", "list"]
PRESET_KEY = "preset"
_ENGINE_KEYS = frozenset({"engine", "title", "source", "charts"})


@dataclass(frozen=True)
class Engine:
    """One engine's preset file: its chart nodes are read again with each file's defaults."""

    name: str
    title: str
    source: str  # the engine's source file the names, labels and buckets come from
    nodes: tuple[tuple[str, yaml.MappingNode], ...]  # (chart name, its YAML mapping)

    def ref(self, chart_name: str) -> str:
        """``vllm_e2e_latency`` -> ``vllm/e2e_latency``."""
        return f"{self.name}/{chart_name.removeprefix(self.name + '_')}"


@dataclass(frozen=True)
class PresetChart:
    engine: str
    ref: str
    chart: ChartConfig

    @property
    def families(self) -> tuple[str, ...]:
        """The stored metric names the chart reads: without them it has nothing to chart."""
        return required_names(self.chart)


@dataclass(frozen=True)
class PresetSelection:
    """What a file asks for: ``auto`` (every engine found), ``list`` (``engines``) or
    ``none``; ``replaced`` are the refs a ``preset:`` chart of the file took over."""

    mode: Mode = "none"
    engines: tuple[str, ...] = ()
    replaced: frozenset[str] = frozenset()
    defaults: ChartDefaults = field(default_factory=ChartDefaults)


NO_PRESETS = PresetSelection()


def required_names(chart: ChartConfig) -> tuple[str, ...]:
    if chart.proportion is not None:
        return (chart.proportion.numerator.metric, chart.proportion.denominator.metric)
    return (f"{chart.metric}_sum", f"{chart.metric}_count")


@cache
def catalog() -> tuple[Engine, ...]:
    """The shipped preset files, in name order."""
    folder = resources.files("spc_rules").joinpath("data/presets")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yml")), key=lambda f: f.name)
    return tuple(_engine(f.read_text(encoding="utf-8"), f"presets/{f.name}") for f in files)


def engine_names() -> tuple[str, ...]:
    return tuple(e.name for e in catalog())


def _engine(text: str, source: str) -> Engine:
    def build(reader: Reader, root: yaml.Node) -> Engine | None:
        keys = reader.mapping(root, "", _ENGINE_KEYS) or {}
        name = reader.optional(keys, "engine", "", reader.string, "")
        nodes = []
        for i, item in enumerate(reader.sequence(keys["charts"], "charts") or []):
            chart = read_chart(reader, item, join_path("charts", i), ChartDefaults())
            if chart is not None and isinstance(item, yaml.MappingNode):
                nodes.append((chart.name, item))
        return Engine(
            name=name,
            title=reader.optional(keys, "title", "", reader.string, name),
            source=reader.optional(keys, "source", "", reader.string, ""),
            nodes=tuple(nodes),
        )

    return load_document(text, source, build)


def preset_charts(engine: Engine, defaults: ChartDefaults) -> list[PresetChart]:
    """The engine's charts read with a file's ``global`` defaults."""
    reader = Reader(engine.name)
    out = []
    for name, node in engine.nodes:
        chart = read_chart(reader, node, name, defaults)
        if chart is not None:
            out.append(PresetChart(engine.name, engine.ref(name), chart))
    if reader.problems:  # shipped files are tested; only a broken install gets here
        raise ConfigError("\n".join(str(p) for p in reader.problems))
    return out


def find(ref: str) -> tuple[Engine, str, yaml.MappingNode] | None:
    engine_name, _, _ = ref.partition("/")
    for engine in catalog():
        if engine.name == engine_name:
            for name, node in engine.nodes:
                if engine.ref(name) == ref:
                    return engine, name, node
    return None


def all_refs() -> list[str]:
    return [e.ref(name) for e in catalog() for name, _ in e.nodes]


def read_selection(
    reader: Reader, node: yaml.Node | None, default: Mode, defaults: ChartDefaults
) -> PresetSelection:
    """The ``presets`` key: ``auto``, ``none`` or a list of engine names."""
    if node is None:
        return PresetSelection(mode=default, defaults=defaults)
    known = engine_names()
    if isinstance(node, yaml.ScalarNode):
        value = reader.choice(node, "presets", ("auto", "none"), "presets mode")
        mode: Mode = "none" if value == "none" else "auto"  # a bad value is reported once
        return PresetSelection(mode=mode, defaults=defaults)
    items = reader.sequence(node, "presets")
    engines: list[str] = []
    for i, item in enumerate(items or []):
        name = reader.choice(item, join_path("presets", i), known, "engine")
        if name is not None and name in engines:
            reader.fail(item, join_path("presets", i), f'"{name}" is listed twice')
        elif name is not None:
            engines.append(name)
    return PresetSelection(mode="list", engines=tuple(engines), defaults=defaults)


def read_charts(
    reader: Reader, items: list[yaml.Node], defaults: ChartDefaults, selection: PresetSelection
) -> tuple[list[ChartConfig], PresetSelection]:
    """A file's charts, plain or starting from a preset; the selection learns which presets
    the file's own entries replaced."""
    out: list[ChartConfig] = []
    replaced: set[str] = set()
    for i, item in enumerate(items):
        path = join_path("charts", i)
        if isinstance(item, yaml.MappingNode) and is_preset_reference(item):
            got = read_preset_chart(reader, item, path, defaults)
            if got is not None:
                replaced.add(got[0])
                out.append(got[1])
        elif (chart := read_chart(reader, item, path, defaults)) is not None:
            out.append(chart)
    return out, replace(selection, replaced=frozenset(replaced))


def is_preset_reference(node: yaml.Node) -> bool:
    return isinstance(node, yaml.MappingNode) and any(
        getattr(k, "value", None) == PRESET_KEY for k, _ in node.value
    )


def read_preset_chart(
    reader: Reader, node: yaml.MappingNode, path: str, defaults: ChartDefaults
) -> tuple[str, ChartConfig] | None:
    """A chart that starts from a preset: the preset's keys, overridden by the entry's own."""
    ref_node = next(v for k, v in node.value if getattr(k, "value", None) == PRESET_KEY)
    ref = reader.string(ref_node, join_path(path, PRESET_KEY))
    if ref is None:
        return None
    found = find(ref)
    if found is None:
        engine = ref.partition("/")[0]
        refs = [r for r in all_refs() if r.startswith(engine + "/")]
        known = f"known: {', '.join(refs)}" if refs else f"engines: {', '.join(engine_names())}"
        reader.fail(ref_node, join_path(path, PRESET_KEY), f'unknown preset "{ref}" ({known})')
        return None
    _, _, preset = found
    own = [(k, v) for k, v in node.value if getattr(k, "value", None) != PRESET_KEY]
    mine = {getattr(k, "value", None) for k, _ in own}
    pairs = [(k, v) for k, v in preset.value if getattr(k, "value", None) not in mine] + own
    merged = yaml.MappingNode(node.tag, pairs, node.start_mark, node.end_mark)
    chart = read_chart(reader, merged, path, defaults)
    return None if chart is None else (ref, chart)


def resolve(
    selection: PresetSelection, explicit: tuple[ChartConfig, ...], found: frozenset[str] | None
) -> tuple[PresetChart, ...]:
    """The preset charts to run beside a file's own: those of the selected engines whose
    stored names are all ``found``. ``found`` None means Prometheus could not be asked: a
    listed engine then gets all its charts (each reports an empty chart until its data
    comes), ``auto`` none yet. A chart replaced by a ``preset:`` entry, or whose name a
    file's chart already uses, is left out."""
    if selection.mode == "none":
        return ()
    names = {c.name for c in explicit}
    chosen = []
    for engine in catalog():
        if selection.mode == "list" and engine.name not in selection.engines:
            continue
        if selection.mode == "auto" and found is None:
            continue
        for preset in preset_charts(engine, selection.defaults):
            if preset.ref in selection.replaced or preset.chart.name in names:
                continue
            if found is None or set(preset.families) <= found:
                chosen.append(preset)
    return tuple(chosen)


def wanted_names(selection: PresetSelection) -> tuple[str, ...]:
    """Every stored name the selected engines' charts could read (what discovery asks for)."""
    if selection.mode == "none":
        return ()
    out: list[str] = []
    for engine in catalog():
        if selection.mode == "auto" or engine.name in selection.engines:
            for preset in preset_charts(engine, selection.defaults):
                out += [n for n in preset.families if n not in out]
    return tuple(out)
