"""API keys and the config file: a key is named by its variable, never written in the file,
and why a target has none is one sentence (shared by --config.check and the start-up log)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import yaml

from exporter.config.types import TargetConfig
from servicekit.yamlconf import Reader, join_path


def missing_key(target: TargetConfig, environ: Mapping[str, str]) -> str | None:
    """None when the target needs no key or its variable holds one; else why it is idle."""
    if not target.api_key_env:
        return None
    value = environ.get(target.api_key_env)
    if value is None:
        return f"environment variable {target.api_key_env} is not set"
    if not value.strip():
        return f"environment variable {target.api_key_env} is empty"
    return None


def mapping_without_secrets(
    reader: Reader, node: yaml.Node, path: str, allowed: frozenset[str]
) -> dict[str, yaml.Node] | None:
    """Like ``reader.mapping``, but a literal key in the file gets its own advice."""
    if isinstance(node, yaml.MappingNode):
        kept = []
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) in {"api_key", "apikey", "key", "token"}:
                reader.fail(
                    key_node,
                    join_path(path, key_node.value),
                    "API keys are not accepted in the config file; put the key in an "
                    "environment variable and name that variable in api_key_env",
                )
            else:
                kept.append((key_node, value_node))
        node = yaml.MappingNode(node.tag, kept, node.start_mark, node.end_mark)
    return reader.mapping(node, path, allowed)


_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def variable_name(reader: Reader) -> Callable[[yaml.Node, str], str | None]:
    """An environment variable's name; a pasted key is refused without being echoed."""

    def convert(node: yaml.Node, path: str) -> str | None:
        value = reader.string(node, path)
        if value is not None and not _VARIABLE_NAME.fullmatch(value):
            reader.fail(
                node,
                path,
                "must be the NAME of an environment variable (letters, digits, _); "
                "this value looks like a key itself, and keys do not belong in the file",
            )
            return None
        return value

    return convert
