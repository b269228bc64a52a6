"""Where the exporter's configuration comes from: a file, or the built-in one.

The loader (``exporter.config.loader``) reads any file but knows no provider; here it is
given the provider table, so ``exporter.config`` imports no provider module.

The built-in configuration has two simulated targets always; a target per provider whose key
variable is set (``data/provider_targets.yml``: OpenAI, Anthropic, Gemini); and a local
Ollama when one answers at start-up (``OLLAMA_URL``, default ``http://localhost:11434``):
its first listed model becomes an ``ollama`` target, so a first run on a machine with Ollama
measures a real model.

That one look-up speaks HTTP through httpx, not the probe client: it runs once, blocking,
while the configuration is read (at start before any probe, on a reload in a worker thread),
where the probe client, built for timed streams on the exporter's event loop, has no loop to
run on. What it reads, ``/api/tags``, is decoded by the Ollama module, as the probes' digest
look-up is.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path

import httpx
import yaml

from exporter.config import loader
from exporter.config.types import Config
from exporter.providers.ollama import DEFAULT_URL as OLLAMA_DEFAULT_URL
from exporter.providers.ollama import first_model
from exporter.providers.table import PROVIDERS
from exporter.providers.wire.jsonbody import loads_or_none
from servicekit import bodies
from servicekit.bodies import BodyError

SOURCE = "built-in default"
OLLAMA_ENV = "OLLAMA_URL"
OLLAMA_TIMEOUT = 0.5  # seconds: start-up must not wait long for a server that is not there
OLLAMA_TAGS_BYTES = 4 << 20  # the largest /api/tags answer read

log = logging.getLogger("llmscope.exporter")

#: Given Ollama's root URL, the model to probe there, or None when none answers.
Discover = Callable[[str], str | None]


def load_file(path: str | Path, environ: Mapping[str, str] = os.environ) -> Config:
    return loader.load_file(path, PROVIDERS, environ)


def load_text(text: str, source: str, environ: Mapping[str, str] = os.environ) -> Config:
    return loader.load_text(text, source, PROVIDERS, environ)


def ollama_first_model(url: str, timeout: float = OLLAMA_TIMEOUT) -> str | None:
    """The first model ``GET {url}/api/tags`` lists; None on any failure."""
    try:
        # No proxy from the environment: a local server is asked directly.
        with (
            httpx.Client(timeout=timeout, trust_env=False) as client,
            # gzip or nothing: what servicekit/bodies.py reads (httpx also offers deflate).
            client.stream(
                "GET", f"{url}/api/tags", headers={"Accept-Encoding": "gzip"}
            ) as response,
        ):
            if response.status_code != 200:
                return None
            # A list of models: a body past the limit is not one (servicekit/bodies.py).
            content = bodies.read(response, OLLAMA_TAGS_BYTES, timeout)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        log.warning("Ollama URL %r is not an http(s) URL; not looking for Ollama", url)
        return None
    except (httpx.HTTPError, OSError, ValueError, BodyError):  # OSError: a TLS alert on a read
        return None
    return first_model(loads_or_none(content))


def builtin_config(
    environ: Mapping[str, str] = os.environ, discover: Discover = ollama_first_model
) -> Config:
    data = resources.files("exporter").joinpath("data")
    text = data.joinpath("default.yml").read_text(encoding="utf-8")
    text += _keyed_targets(data.joinpath("provider_targets.yml").read_text("utf-8"), environ)
    url = (environ.get(OLLAMA_ENV) or OLLAMA_DEFAULT_URL).strip().rstrip("/")
    model = discover(url)
    if model is not None:
        log.info("Ollama answers at %s: adding target ollama for model %s", url, model)
        text += _ollama_target(url, model)
    return load_text(text, SOURCE, environ)


def _keyed_targets(text: str, environ: Mapping[str, str]) -> str:
    """The provider targets whose key variable holds a value, as YAML list entries."""
    targets = yaml.safe_load(text)
    # JSON is YAML: each target becomes one flow mapping, whatever its values hold.
    return "".join(
        f"  - {json.dumps(t)}\n" for t in targets if environ.get(t["api_key_env"], "").strip()
    )


def _ollama_target(url: str, model: str) -> str:
    # JSON strings are valid YAML double-quoted scalars: any model name stays a string.
    return (
        "  - name: ollama\n"
        "    provider: ollama\n"
        f"    base_url: {json.dumps(url)}\n"
        f"    model: {json.dumps(model)}\n"
    )
