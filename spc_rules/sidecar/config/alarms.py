"""Reading a chart's alarm settings: its bad side (``direction``) and the ``paging`` block,
which ``global`` sets for every chart and a chart overrides key by key."""

from __future__ import annotations

import dataclasses

import yaml

from servicekit.yamlconf import Reader, join_path
from spc_rules.sidecar.config.model import DIRECTIONS, Direction, PagingConfig

_PAGING_KEYS = (
    "false_pages_per_week",
    "false_tickets_per_day",
    "fleet_series",
    "page_shift",
    "page_shift_sigmas",
    "ticket_shift",
    "ticket_shift_sigmas",
    "reference",
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
        elif key in ("reference", "ticket_gap", "accept_after"):
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
