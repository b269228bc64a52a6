"""The small blocks of a target or of ``global`` (pricing, budget, gpu, collectors, base_url),
each read and validated on its own; ``exporter.config.loader`` assembles them."""

from __future__ import annotations

from collections.abc import Callable

import yaml

from exporter.config.types import PRESETS, Budget, CollectorsConfig, Pricing, Workload
from exporter.transport.urls import split_url
from servicekit.yamlconf import INVALID, Reader, join_path

_PRICING_KEYS = frozenset({"input", "output", "cached_input"})
_BUDGET_KEYS = frozenset({"daily_tokens", "daily_usd"})
_COLLECTOR_KEYS = frozenset({"host", "gpu", "rapl"})
_RAPL_KEYS = frozenset({"enabled"})
_HOST_KEYS = frozenset({"enabled", "per_cpu"})
_GPU_KEYS = frozenset({"enabled", "sample_interval"})
_WORKLOAD_KEYS = frozenset({"preset", "input_tokens", "output_tokens", "cache"})
# Prompt caches start at 1,024 tokens (OpenAI's automatic caching, Anthropic's smallest
# cacheable prefix): a shorter warm prefix would never be served from a cache.
MIN_CACHED_TOKENS = 1024
MAX_INPUT_TOKENS = 200_000


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


def base_url(reader: Reader, node: yaml.Node | None, path: str) -> str:
    """A URL the probe client can request (``exporter.transport.urls``), refused here so
    that --config.check catches it rather than every probe failing; no trailing slash."""
    value = reader.string(node, path) if node is not None else None
    if value is None:
        return ""
    try:
        split_url(value)
    except ValueError as err:
        reader.fail(node, path, f"{value!r} {err}")
    return value.rstrip("/")  # even when refused: "required" would be a second, wrong message


def collectors(reader: Reader, node: yaml.Node | None) -> CollectorsConfig:
    if node is None:
        return CollectorsConfig()
    keys = reader.mapping(node, "global.collectors", _COLLECTOR_KEYS) or {}
    host = keys.get("host")
    gpu = keys.get("gpu")
    hkeys = (reader.mapping(host, "global.collectors.host", _HOST_KEYS) if host else {}) or {}
    gkeys = (reader.mapping(gpu, "global.collectors.gpu", _GPU_KEYS) if gpu else {}) or {}
    rapl = keys.get("rapl")
    rp = "global.collectors.rapl"
    rkeys = (reader.mapping(rapl, rp, _RAPL_KEYS) if rapl else {}) or {}
    hp, gp = "global.collectors.host", "global.collectors.gpu"
    return CollectorsConfig(
        host=reader.optional(hkeys, "enabled", hp, reader.boolean, True),
        per_cpu=reader.optional(hkeys, "per_cpu", hp, reader.boolean, False),
        gpu=reader.optional(gkeys, "enabled", gp, reader.boolean, True),
        gpu_sample_interval=reader.optional(
            gkeys, "sample_interval", gp, _sample_interval(reader), 0.5
        ),
        rapl=reader.optional(rkeys, "enabled", rp, reader.boolean, True),
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


def workload(reader: Reader, node: yaml.Node | None, path: str) -> Workload:
    """``tiny`` (the default), a preset name, or ``{input_tokens, output_tokens}`` /
    ``{preset}``, either with ``cache: cold|warm``."""
    if node is None:
        return PRESETS["tiny"]
    if isinstance(node, yaml.ScalarNode):
        name = reader.choice(node, path, PRESETS, what="workload")
        return PRESETS[name] if name else PRESETS["tiny"]
    keys = reader.mapping(node, path, _WORKLOAD_KEYS)
    if keys is None:
        return PRESETS["tiny"]
    preset = reader.optional(keys, "preset", path, _preset(reader), None)
    sizes = [k for k in ("input_tokens", "output_tokens") if k in keys]
    if preset is not None and sizes:
        reader.fail(node, join_path(path, sizes[0]), "give either preset or token sizes, not both")
    elif preset is None and len(sizes) < 2:
        missing = "output_tokens" if sizes else "input_tokens"
        reader.fail(node, join_path(path, missing), "required (or name a preset)")
        return PRESETS["tiny"]
    cache = reader.optional(
        keys, "cache", path, lambda n, p: reader.choice(n, p, ("cold", "warm")), "cold"
    )
    base = preset or Workload(
        name="",
        input_tokens=reader.optional(keys, "input_tokens", path, _tokens(reader), 1),
        output_tokens=reader.optional(
            keys, "output_tokens", path, lambda n, p: reader.integer(n, p, 1), 1
        ),
    )
    if not base.sized:
        if "cache" in keys:
            reader.fail(
                keys["cache"],
                join_path(path, "cache"),
                "the tiny workload sends the prompt as it is: it has no cache setting",
            )
        return base
    if cache == "warm" and (base.input_tokens or 0) < MIN_CACHED_TOKENS:
        reader.fail(
            node,
            join_path(path, "cache"),
            f"warm needs input_tokens of at least {MIN_CACHED_TOKENS}: providers cache no "
            "shorter prompt",
        )
    name = base.name or f"{base.input_tokens}x{base.output_tokens}"
    return Workload(
        name=f"{name}-warm" if cache == "warm" else name,
        input_tokens=base.input_tokens,
        output_tokens=base.output_tokens,
        cache="warm" if cache == "warm" else "cold",
    )


def _preset(reader: Reader) -> Callable[[yaml.Node, str], Workload | None]:
    def convert(node: yaml.Node, path: str) -> Workload | None:
        name = reader.choice(node, path, PRESETS, what="workload preset")
        return PRESETS[name] if name else None

    return convert


def _tokens(reader: Reader) -> Callable[[yaml.Node, str], int | None]:
    def convert(node: yaml.Node, path: str) -> int | None:
        value = reader.integer(node, path, minimum=16)
        if value is not None and value > MAX_INPUT_TOKENS:
            reader.fail(node, path, f"at most {MAX_INPUT_TOKENS}, got {value}")
            return None
        return value

    return convert
