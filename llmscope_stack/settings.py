"""What the user controls: environment variables and flags, read and checked once.

Every problem is reported at once, one line each, never with a secret's value.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from servicekit.errors import ConfigError
from servicekit.web.auth import API_KEY_ENV
from servicekit.yamlconf import parse_duration

#: The repository this package runs from: its prometheus/, alertmanager/ and spc_rules/data/.
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INTERVAL = 15.0  # seconds: the exporter's default probe interval
DEFAULT_RETENTION_DAYS = 7


@dataclass(frozen=True)
class Ports:
    exporter: int = 8465
    spc: int = 8466
    prometheus: int = 9090
    alertmanager: int = 9093
    receiver: int = 9097


@dataclass(frozen=True)
class Settings:
    data: Path  # everything the stack writes: TSDB, Alertmanager state, generated configs, logs
    interval: float  # MONITORING_INTERVAL in seconds
    retention_days: int
    api_key: str | None  # LLMSCOPE_API_KEY: both services require it; Prometheus sends it
    host: str
    ports: Ports
    exporter_config: Path | None  # --config.file: the exporter's targets
    spc_config: Path | None  # --spc.config.file: the sidecar's charts

    @property
    def scale(self) -> float:
        """How much faster than the shipped timeline everything runs: 1 at the default 15 s
        probe interval; MONITORING_INTERVAL=1s gives 1/15 (every window, hold and wait of
        the stack fifteen times shorter). Never slower than shipped."""
        return min(1.0, self.interval / DEFAULT_INTERVAL)

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"


def from_environment(
    environ: Mapping[str, str] = os.environ,
    *,
    host: str = "127.0.0.1",
    ports: Ports | None = None,
    exporter_config: Path | None = None,
    spc_config: Path | None = None,
) -> Settings:
    """The settings, or a ConfigError naming every variable that is wrong."""
    problems: list[str] = []
    interval = _interval(environ.get("MONITORING_INTERVAL"), problems)
    retention = _days(environ.get("DATA_RETENTION_DAYS"), problems)
    api_key = environ.get(API_KEY_ENV)
    if api_key is not None and not api_key.strip():
        problems.append(f"{API_KEY_ENV}: set but empty (unset it to serve without a token)")
    data = Path(environ.get("LLMSCOPE_DATA") or ROOT / "data").expanduser().resolve()
    if data.exists() and not data.is_dir():
        problems.append(f"LLMSCOPE_DATA: {data} exists and is not a folder")
    for name, path in (("--config.file", exporter_config), ("--spc.config.file", spc_config)):
        if path is not None and not path.is_file():
            problems.append(f"{name}: {path}: no such file")
    if problems:
        raise ConfigError("\n".join(problems))
    return Settings(
        data=data,
        interval=interval,
        retention_days=retention,
        api_key=api_key or None,
        host=host,
        ports=ports or Ports(),
        exporter_config=exporter_config,
        spc_config=spc_config,
    )


def _interval(raw: str | None, problems: list[str]) -> float:
    """As the exporter reads it (exporter/config/loader.py): a duration or bare seconds,
    empty meaning the default. The exporter reads the variable itself; the stack needs it
    for the timeline."""
    text = (raw or "").strip()
    if not text:
        return DEFAULT_INTERVAL
    try:
        seconds = float(text) if text.replace(".", "", 1).isdigit() else parse_duration(text)
    except ValueError as err:
        problems.append(f"MONITORING_INTERVAL: {err}")
        return DEFAULT_INTERVAL
    if not math.isfinite(seconds) or seconds < 0.1:
        problems.append(f'MONITORING_INTERVAL: "{raw}" is shorter than 100ms')
        return DEFAULT_INTERVAL
    return seconds


def _days(raw: str | None, problems: list[str]) -> int:
    if raw is None:
        return DEFAULT_RETENTION_DAYS
    try:
        days = int(raw.strip())
    except ValueError:
        problems.append(f'DATA_RETENTION_DAYS: expected a whole number of days, got "{raw}"')
        return DEFAULT_RETENTION_DAYS
    if days < 1:
        problems.append(f"DATA_RETENTION_DAYS: must be at least 1, got {days}")
        return DEFAULT_RETENTION_DAYS
    return days
