"""The one version string, read from the installed distribution (pyproject.toml sets it)."""

from __future__ import annotations

from importlib import metadata


def _installed_version() -> str:
    try:
        return metadata.version("llmscope")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"


VERSION = _installed_version()
