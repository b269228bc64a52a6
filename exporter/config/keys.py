"""Why a target has no API key: one sentence, shared by --config.check and the start-up log."""

from __future__ import annotations

from collections.abc import Mapping

from exporter.config.types import TargetConfig


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
