"""The exporter's configuration: typed, frozen, validated once at load.

Every problem in a file is reported together, one line each, with its YAML path and line
(``llmscope.yml:14: targets[1].interval: bad duration "3x" ...``). Provider-specific keys
are validated by the provider module itself, handed in as ``kinds`` (``exporter.configfile``
binds the provider table), so this module knows no wire format and imports no provider.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from exporter.config import blocks as config_blocks
from exporter.config.canaries import canaries as canary_block
from exporter.config.keys import mapping_without_secrets, variable_name
from exporter.config.types import (
    DEFAULT_CANARY_STATE,
    DEFAULT_INTERVAL,
    Budget,
    CollectorsConfig,
    Config,
    Connection,
    Pricing,
    TargetConfig,
    TargetKind,
)
from servicekit.errors import ConfigError
from servicekit.yamlconf import Reader, join_path, load_document, parse_duration, read_file

__all__ = [
    "Budget",
    "CollectorsConfig",
    "Config",
    "Pricing",
    "TargetConfig",
    "TargetKind",
    "default_interval",
    "load_file",
    "load_text",
]

INTERVAL_ENV = "MONITORING_INTERVAL"

_GLOBAL_KEYS = frozenset(
    {
        "interval",
        "timeout",
        "stall_timeout",
        "max_concurrency",
        "max_body_bytes",
        "collectors",
        "canary_state_file",
    }
)
_TARGET_KEYS = frozenset(
    {
        "name",
        "provider",
        "base_url",
        "model",
        "api_key_env",
        "interval",
        "timeout",
        "stall_timeout",
        "max_tokens",
        "prompt",
        "connection",
        "pricing",
        "budget",
        "gpu",
        "canaries",
        "workload",
    }
)


_DEFAULT_CONFIG = Config(targets=())
_DEFAULT_TARGET = TargetConfig(name="", provider="", model="")


def default_interval(environ: Mapping[str, str] = os.environ) -> float:
    """``MONITORING_INTERVAL`` as seconds: a duration (``15s``) or a bare number of seconds."""
    raw = environ.get(INTERVAL_ENV, "").strip()
    if not raw:
        return DEFAULT_INTERVAL
    try:
        seconds = float(raw) if raw.replace(".", "", 1).isdigit() else parse_duration(raw)
    except ValueError as err:
        raise ConfigError(f"{INTERVAL_ENV}: {err}") from None
    if seconds <= 0:
        raise ConfigError(f"{INTERVAL_ENV}: must be greater than zero")
    return seconds


Kinds = Mapping[str, TargetKind]


def load_file(path: str | Path, kinds: Kinds, environ: Mapping[str, str] = os.environ) -> Config:
    return load_text(read_file(path), str(path), kinds, environ)


def load_text(
    text: str, source: str, kinds: Kinds, environ: Mapping[str, str] = os.environ
) -> Config:
    """The configuration in ``text``; ``kinds`` maps each ``provider`` value to its keys."""
    interval = default_interval(environ)
    return load_document(text, source, lambda r, root: _config(r, root, interval, kinds, source))


def _config(
    reader: Reader, root: yaml.Node, interval: float, kinds: Kinds, source: str
) -> Config | None:
    keys = reader.mapping(root, "", {"global", "targets"})
    if keys is None:
        return None
    g = keys.get("global")
    gkeys = reader.mapping(g, "global", _GLOBAL_KEYS) if g is not None else {}
    gkeys = gkeys or {}
    d = _DEFAULT_CONFIG
    interval = reader.optional(gkeys, "interval", "global", reader.duration, interval)
    timeout = reader.optional(gkeys, "timeout", "global", reader.duration, d.timeout)
    stall = reader.optional(gkeys, "stall_timeout", "global", reader.duration, d.stall_timeout)
    concurrency = reader.optional(
        gkeys,
        "max_concurrency",
        "global",
        lambda n, p: reader.integer(n, p, minimum=1),
        d.max_concurrency,
    )
    max_body = reader.optional(
        gkeys,
        "max_body_bytes",
        "global",
        lambda n, p: reader.integer(n, p, minimum=1024),
        d.max_body_bytes,
    )
    collectors = config_blocks.collectors(reader, gkeys.get("collectors"))
    state_file = reader.optional(
        gkeys, "canary_state_file", "global", reader.string, DEFAULT_CANARY_STATE
    )

    targets: list[TargetConfig] = []
    seq_node = keys.get("targets")
    if seq_node is None:
        reader.fail(root, "targets", "at least one target is required")
        return None
    items = reader.sequence(seq_node, "targets") or []
    if seq_node is not None and not items and isinstance(seq_node, yaml.SequenceNode):
        reader.fail(seq_node, "targets", "at least one target is required")
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        path = join_path("targets", i)
        target = _target(reader, item, path, kinds, interval=interval, timeout=timeout, stall=stall)
        if target is None:
            continue
        if target.name in seen:
            reader.fail(
                item,
                join_path(path, "name"),
                f'duplicate target name "{target.name}" (first at line {seen[target.name]})',
            )
        else:
            seen[target.name] = item.start_mark.line + 1
        targets.append(target)
    return Config(
        targets=tuple(targets),
        interval=interval,
        timeout=timeout,
        stall_timeout=stall,
        max_concurrency=concurrency,
        max_body_bytes=max_body,
        collectors=collectors,
        canary_state_file=state_file,
        source=source,
    )


def _target(
    reader: Reader,
    node: yaml.Node,
    path: str,
    kinds: Kinds,
    *,
    interval: float,
    timeout: float,
    stall: float,
) -> TargetConfig | None:
    provider_kind = None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == "provider":
                provider_kind = reader.choice(
                    value_node, join_path(path, "provider"), kinds, what="provider"
                )
    provider = kinds.get(provider_kind or "")
    allowed = _TARGET_KEYS | (provider.option_keys if provider else frozenset())
    if provider_kind is None and isinstance(node, yaml.MappingNode):
        # Without a valid provider we cannot know its keys: check the common ones only.
        allowed = _TARGET_KEYS.union(*(p.option_keys for p in kinds.values()))
    keys = mapping_without_secrets(reader, node, path, allowed)
    if keys is None:
        return None
    if "provider" not in keys:
        reader.fail(node, join_path(path, "provider"), f"required (one of: {', '.join(kinds)})")
    name = _required(reader, keys, "name", path, node)
    model = _required(reader, keys, "model", path, node)
    opt = reader.optional
    key_env = opt(keys, "api_key_env", path, variable_name(reader), None)
    workload = config_blocks.workload(reader, keys.get("workload"), join_path(path, "workload"))
    max_tokens = opt(
        keys, "max_tokens", path, lambda n, p: reader.integer(n, p, 1), _DEFAULT_TARGET.max_tokens
    )
    if workload.output_tokens is not None:
        if "max_tokens" in keys:
            reader.fail(
                keys["max_tokens"],
                join_path(path, "max_tokens"),
                "leave it out: the workload's output_tokens sets max_tokens",
            )
        max_tokens = workload.output_tokens
    target = TargetConfig(
        name=name or "",
        provider=provider_kind or "",
        model=model or "",
        base_url=config_blocks.base_url(reader, keys.get("base_url"), join_path(path, "base_url")),
        api_key_env=key_env,
        interval=opt(keys, "interval", path, reader.duration, interval),
        timeout=opt(keys, "timeout", path, reader.duration, timeout),
        stall_timeout=opt(keys, "stall_timeout", path, reader.duration, stall),
        max_tokens=max_tokens,
        prompt=opt(keys, "prompt", path, reader.string, _DEFAULT_TARGET.prompt),
        connection=_connection(reader, keys, path),
        pricing=config_blocks.pricing(reader, keys.get("pricing"), join_path(path, "pricing")),
        budget=config_blocks.budget(reader, keys.get("budget"), join_path(path, "budget")),
        gpu=config_blocks.gpu(reader, keys.get("gpu"), join_path(path, "gpu")),
        canaries=canary_block(reader, keys.get("canaries"), join_path(path, "canaries")),
        workload=workload,
        options=provider.parse_options(reader, keys, path) if provider else None,
    )
    if provider is not None:
        provider.validate(reader, target, node, path)
    return target if name and model and provider is not None else None


def _required(
    reader: Reader, keys: Mapping[str, yaml.Node], key: str, path: str, node: yaml.Node
) -> str | None:
    if key not in keys:
        reader.fail(node, join_path(path, key), "required")
        return None
    return reader.string(keys[key], join_path(path, key))


def _connection(reader: Reader, keys: Mapping[str, yaml.Node], path: str) -> Connection:
    value = reader.optional(
        keys, "connection", path, lambda n, p: reader.choice(n, p, ("keepalive", "fresh")), None
    )
    return "fresh" if value == "fresh" else "keepalive"
