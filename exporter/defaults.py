"""The built-in configuration, for a first run without a config file or keys."""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources

from exporter.config import Config, load_text

SOURCE = "built-in default"


def builtin_config(environ: Mapping[str, str] = os.environ) -> Config:
    text = resources.files("exporter").joinpath("data/default.yml").read_text(encoding="utf-8")
    return load_text(text, SOURCE, environ)
