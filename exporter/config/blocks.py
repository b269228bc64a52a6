"""The small blocks of a target or of ``global`` (pricing, budget, gpu, collectors),
each read and validated on its own; ``exporter.config.loader`` assembles them."""

from __future__ import annotations

from collections.abc import Callable

import yaml

from exporter.config.types import Budget, CollectorsConfig, Pricing
from servicekit.yamlconf import INVALID, Reader, join_path

_PRICING_KEYS = frozenset({"input", "output", "cached_input"})
_BUDGET_KEYS = frozenset({"daily_tokens", "daily_usd"})
_COLLECTOR_KEYS = frozenset({"host", "gpu"})
_HOST_KEYS = frozenset({"enabled", "per_cpu"})
_GPU_KEYS = frozenset({"enabled", "sample_interval"})


def pricing(reader: Reader, node: yaml.Node | None, path: str) -> Pricing | None:
    if node is None:
        return None
    keys = reader.mapping(node, path, _PRICING_KEYS)
    if keys is None:
        return None
    for required in ("input", "output"):
        if required not in keys:
            reader.fail(node, join_path(path, required), "required (USD per 1M tokens)")

    def usd(n: yaml.Node, p: str) -> float | None:
        return reader.number(n, p, minimum=0.0)

    return Pricing(
        input=reader.optional(keys, "input", path, usd, 0.0),
        output=reader.optional(keys, "output", path, usd, 0.0),
        cached_input=reader.optional(keys, "cached_input", path, usd, None),
    )


def budget(reader: Reader, node: yaml.Node | None, path: str) -> Budget | None:
    if node is None:
        return None
    keys = reader.mapping(node, path, _BUDGET_KEYS)
    if keys is None:
        return None
    return Budget(
        daily_tokens=reader.optional(
            keys, "daily_tokens", path, lambda n, p: reader.integer(n, p, 1), None
        ),
        daily_usd=reader.optional(
            keys, "daily_usd", path, lambda n, p: reader.number(n, p, 0.0), None
        ),
    )


def gpu(reader: Reader, node: yaml.Node | None, path: str) -> str | None:
    if node is None:
        return None
    value = reader.scalar(node, path)
    if value is INVALID:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and (value == "all" or value.startswith(("GPU-", "MIG-"))):
        return value
    reader.fail(node, path, f"expected all, a GPU index or a GPU UUID, got {value!r}")
    return None


def collectors(reader: Reader, node: yaml.Node | None) -> CollectorsConfig:
    if node is None:
        return CollectorsConfig()
    keys = reader.mapping(node, "global.collectors", _COLLECTOR_KEYS) or {}
    host = keys.get("host")
    gpu = keys.get("gpu")
    hkeys = (reader.mapping(host, "global.collectors.host", _HOST_KEYS) if host else {}) or {}
    gkeys = (reader.mapping(gpu, "global.collectors.gpu", _GPU_KEYS) if gpu else {}) or {}
    hp, gp = "global.collectors.host", "global.collectors.gpu"
    return CollectorsConfig(
        host=reader.optional(hkeys, "enabled", hp, reader.boolean, True),
        per_cpu=reader.optional(hkeys, "per_cpu", hp, reader.boolean, False),
        gpu=reader.optional(gkeys, "enabled", gp, reader.boolean, True),
        gpu_sample_interval=reader.optional(
            gkeys, "sample_interval", gp, _sample_interval(reader), 0.5
        ),
    )


def _sample_interval(reader: Reader) -> Callable[[yaml.Node, str], float | None]:
    """GPU sampling faster than 10 ms would only spin the sampler thread."""

    def convert(node: yaml.Node, path: str) -> float | None:
        seconds = reader.duration(node, path)
        if seconds is not None and seconds < 0.01:
            reader.fail(node, path, "must be at least 10ms")
            return None
        return seconds

    return convert
