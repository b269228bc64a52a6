"""Reading a chart's detector settings: EWMA and CUSUM, its bad side (``direction``), and the
alarm detectors' ``paging`` block, which ``global`` sets for every chart and a chart
overrides key by key."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import yaml

from servicekit.yamlconf import Reader, join_path
from spc_rules.sidecar.config.model import (
    DIRECTIONS,
    CusumConfig,
    Direction,
    EwmaConfig,
    PagingConfig,
)

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


def read_ewma(reader: Reader, node: yaml.Node | None, path: str) -> EwmaConfig | None:
    keys = _switch(reader, node, path, ("lambda", "width"))
    if keys is None:
        return None
    lam = reader.optional(keys, "lambda", path, reader.number, 0.1)
    if not 0 < lam <= 1:
        reader.fail(keys["lambda"], join_path(path, "lambda"), f"must be in (0, 1], got {lam:g}")
    width = reader.optional(keys, "width", path, lambda n, p: reader.number(n, p, 0.0), 2.7)
    return EwmaConfig(lam, width)


def read_cusum(reader: Reader, node: yaml.Node | None, path: str) -> CusumConfig | None:
    keys = _switch(reader, node, path, ("k", "h"))
    if keys is None:
        return None
    k = reader.optional(keys, "k", path, lambda n, p: reader.number(n, p, 0.0), 0.5)
    h = reader.optional(keys, "h", path, lambda n, p: reader.number(n, p, 0.0), 5.0)
    return CusumConfig(k, h)


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
