"""compose.yaml read the way Compose reads it, without Docker: defaults of ``${VAR:-x}``
applied, short-syntax volumes and ports split into their parts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.stack.dashboards import ROOT

COMPOSE_FILE = ROOT / "compose.yaml"
# ${VAR:-default}, ${VAR-default}, ${VAR}, $VAR (Compose's interpolation forms).
_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)")


def load() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return data


def with_defaults(text: str) -> str:
    """The text as Compose sees it with no variable set: each default, else empty."""
    return _INTERPOLATION.sub(lambda m: m.group(2) or "", text)


@dataclass(frozen=True)
class Mount:
    source: str  # a host path (./x, /x) or a named volume
    target: str
    read_only: bool

    @property
    def is_bind(self) -> bool:
        return self.source.startswith((".", "/"))

    def host_path(self) -> Path:
        return (ROOT / self.source).resolve()


@dataclass(frozen=True)
class Published:
    host_ip: str
    host_port: int
    container_port: int


def mounts(service: dict[str, Any]) -> list[Mount]:
    out = []
    for entry in service.get("volumes", []):
        parts = with_defaults(entry).split(":")
        mode = parts[2] if len(parts) > 2 else "rw"
        out.append(Mount(parts[0], parts[1], "ro" in mode.split(",")))
    return out


def published(service: dict[str, Any]) -> list[Published]:
    out = []
    for entry in service.get("ports", []):
        parts = with_defaults(str(entry)).split(":")
        if len(parts) != 3:
            raise ValueError(f"publish ports as ip:host:container, got {entry!r}")
        out.append(Published(parts[0], int(parts[1]), int(parts[2])))
    return out


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    """Variables set in the service; a bare name (passed through from the shell) maps to None."""
    env = service.get("environment", [])
    if isinstance(env, dict):
        return {k: None if v is None else str(v) for k, v in env.items()}
    out: dict[str, str | None] = {}
    for entry in env:
        name, sep, value = entry.partition("=")
        out[name] = value if sep else None
    return out


def flag(args: list[str], name: str) -> str | None:
    """The value of ``--name=value`` or ``--name value`` in an argument list."""
    for i, arg in enumerate(args):
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
        if arg == name and i + 1 < len(args):
            return args[i + 1]
    return None
