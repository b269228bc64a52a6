"""A target's `canaries:` block: typed, frozen, every problem reported with its line."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import yaml

from servicekit.yamlconf import Reader, join_path

DEFAULT_CANARY_INTERVAL = 300.0
DEFAULT_WINDOW = 50
MIN_WINDOW = 3
_KEYS = frozenset({"name", "prompt", "expect", "interval", "seed", "max_tokens", "window"})
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


@dataclass(frozen=True)
class CanaryConfig:
    """One canary question of a target.

    `expect` is a regular expression the answer must match (searched, not anchored); `window`
    the number of recent answers the modal answer is learned over.
    """

    name: str
    prompt: str
    expect: str | None = None
    interval: float = DEFAULT_CANARY_INTERVAL
    seed: int | None = None
    max_tokens: int | None = None  # None: the target's
    window: int = DEFAULT_WINDOW


def canaries(reader: Reader, node: yaml.Node | None, path: str) -> tuple[CanaryConfig, ...]:
    """The list under a target's `canaries` key (absent: none)."""
    if node is None:
        return ()
    out: list[CanaryConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(reader.sequence(node, path) or []):
        canary = _canary(reader, item, join_path(path, i))
        if canary is None:
            continue
        if canary.name in seen:
            reader.fail(
                item, join_path(join_path(path, i), "name"), f'duplicate canary "{canary.name}"'
            )
            continue
        seen.add(canary.name)
        out.append(canary)
    return tuple(out)


def _canary(reader: Reader, node: yaml.Node, path: str) -> CanaryConfig | None:
    keys = reader.mapping(node, path, _KEYS)
    if keys is None:
        return None
    for required in ("name", "prompt"):
        if required not in keys:
            reader.fail(node, join_path(path, required), "required")
    name = reader.optional(keys, "name", path, _name(reader), "")
    prompt = reader.optional(keys, "prompt", path, reader.string, "")
    opt = reader.optional
    canary = CanaryConfig(
        name=name,
        prompt=prompt,
        expect=opt(keys, "expect", path, _pattern(reader), None),
        interval=opt(keys, "interval", path, reader.duration, DEFAULT_CANARY_INTERVAL),
        seed=opt(keys, "seed", path, lambda n, p: reader.integer(n, p, minimum=0), None),
        max_tokens=opt(keys, "max_tokens", path, lambda n, p: reader.integer(n, p, 1), None),
        window=opt(keys, "window", path, lambda n, p: reader.integer(n, p, MIN_WINDOW), 50),
    )
    return canary if name and prompt else None


def _name(reader: Reader) -> Callable[[yaml.Node, str], str | None]:
    """A label value: short, lower case, so it stays a bounded label."""

    def convert(node: yaml.Node, path: str) -> str | None:
        value = reader.string(node, path)
        if value is not None and not _NAME.fullmatch(value):
            reader.fail(node, path, "must be 1-40 characters of a-z, 0-9, _ and -")
            return None
        return value

    return convert


def _pattern(reader: Reader) -> Callable[[yaml.Node, str], str | None]:
    def convert(node: yaml.Node, path: str) -> str | None:
        value = reader.string(node, path)
        if value is None:
            return None
        try:
            re.compile(value)
        except re.error as err:
            reader.fail(node, path, f"not a regular expression: {err}")
            return None
        return value

    return convert
