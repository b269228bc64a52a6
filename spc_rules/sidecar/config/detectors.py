"""Reading a chart's detector settings: its info signals (one key per kind in
``spc_rules.sidecar.signals``), its bad side (``direction``), whose side it speaks for
(``side``), the smallest move that pages (``min_effect``), and the alarm detectors' ``paging``
block, which ``global`` sets for every chart and a chart overrides key by key."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import yaml

from servicekit.yamlconf import Reader, join_path
from spc_rules.sidecar.config.model import (
    DEFAULT_MIN_EFFECT,
    DIRECTIONS,
    SIDES,
    Direction,
    PagingConfig,
    Side,
)
from spc_rules.sidecar.signals import KINDS
from spc_rules.sidecar.signals.base import Detector

SIGNAL_KEYS = tuple(KINDS)

_PAGING_KEYS = (
    "false_pages_per_week",
    "false_tickets_per_day",
    "fleet_series",
    "page_shift",
    "page_shift_sigmas",
    "ticket_shift",
    "ticket_shift_sigmas",
    "reference",
    "ticket_reference",
    "ticket_gap",
    "accept_after",
)


def read_paging(
    reader: Reader, node: yaml.Node | None, path: str, base: PagingConfig
) -> PagingConfig:
    """``base`` with the keys ``node`` gives."""
    if node is None:
        return base
    keys = reader.mapping(node, path, _PAGING_KEYS)
    if not keys:
        return base
    changes: dict[str, object] = {}
    for key, value_node in keys.items():
        where = join_path(path, key)
        value: object
        if key == "fleet_series":
            value = reader.integer(value_node, where, 1)
        elif key in ("reference", "ticket_reference", "ticket_gap", "accept_after"):
            value = reader.duration(value_node, where, positive=key != "ticket_gap")
        else:
            value = _positive(reader, value_node, where)
            if value is not None and key.endswith("_shift") and value <= 1.0:
                reader.fail(value_node, where, f"is a ratio above 1 (2: twice), got {value:g}")
                value = None
        if value is not None:
            changes[key] = value
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def read_direction(reader: Reader, node: yaml.Node, path: str) -> Direction | None:
    value = reader.choice(node, path, DIRECTIONS)
    return None if value is None else DIRECTIONS[value]


def _positive(reader: Reader, node: yaml.Node, path: str) -> float | None:
    value = reader.number(node, path)
    if value is not None and value <= 0:
        reader.fail(node, path, f"must be positive, got {value:g}")
        return None
    return value


def read_signals(reader: Reader, keys: Mapping[str, yaml.Node], path: str) -> tuple[Detector, ...]:
    """The chart's info detectors, in the registry's order."""
    found: list[Detector] = []
    for name, kind in KINDS.items():
        where = join_path(path, name)
        settings = _switch(reader, keys.get(name), where, kind.keys)
        if settings is not None:
            detector = kind.read(reader, settings, where)
            if detector is not None:
                found.append(detector)
    return tuple(found)


def read_side(reader: Reader, node: yaml.Node, path: str) -> Side | None:
    value = reader.choice(node, path, SIDES)
    return None if value is None else SIDES[value]


def read_min_effect(
    reader: Reader, keys: Mapping[str, yaml.Node], path: str, log: bool
) -> float | None:
    """A ratio above 1 on log charts (default 1.3); untransformed charts have no floor."""
    node = keys.get("min_effect")
    where = join_path(path, "min_effect")
    if not log:
        if node is not None:
            reader.fail(node, where, "only for charts with transform: log (a ratio)")
        return None
    if node is None:
        return DEFAULT_MIN_EFFECT
    value = reader.number(node, where)
    if value is not None and value < 1.0:
        reader.fail(node, where, f"is a ratio of at least 1 (1.3: +30%), got {value:g}")
        return DEFAULT_MIN_EFFECT
    return DEFAULT_MIN_EFFECT if value is None else value


def _switch(
    reader: Reader, node: yaml.Node | None, path: str, allowed: tuple[str, ...]
) -> Mapping[str, yaml.Node] | None:
    """``true``/``false``, or a mapping of settings (which means on). None means off."""
    if node is None:
        return None
    if isinstance(node, yaml.MappingNode):
        return reader.mapping(node, path, allowed)
    on = reader.boolean(node, path)
    return {} if on else None
