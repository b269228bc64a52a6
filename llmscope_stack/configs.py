"""The configuration files the stack runs with, derived from the repository's own.

What changes, and nothing else: addresses (127.0.0.1 and the chosen ports instead of compose's
service names), paths (absolute, into the repository and the data folder), the bearer token
Prometheus sends when ``LLMSCOPE_API_KEY`` is set, the webhook (the receiver in this
process), and, when ``Settings.scale`` is below 1, every interval, window, hold and wait,
multiplied by it, so that a short ``MONITORING_INTERVAL`` runs the whole timeline faster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llmscope_stack.rulescale import scale_keys, scale_rules
from llmscope_stack.settings import ROOT, Settings

# A p chart's subgroup is a window too: 5 minutes hold 20 probes at 15 s, 20 s at 1 s.
_SPC_DURATIONS = ("interval", "evaluation", "baseline", "hold", "subgroup")
_ROUTE_DURATIONS = ("group_wait", "group_interval", "repeat_interval")
_JOB_ADDRESSES = {
    "llmscope-exporter": "exporter",
    "llmscope-spc": "spc",
    "prometheus": "prometheus",
    "alertmanager": "alertmanager",
}


@dataclass(frozen=True)
class Generated:
    prometheus: Path
    alertmanager: Path
    spc: Path
    rules: str  # the rule_files glob Prometheus loads


def write_all(settings: Settings) -> Generated:
    """Write every generated file under ``<data>/config/`` and say where they are."""
    folder = settings.data / "config"
    folder.mkdir(parents=True, exist_ok=True)
    rules = _rules(settings, folder)
    token = folder / "api-key"
    if settings.api_key:
        token.touch(mode=0o600)
        token.chmod(0o600)
        token.write_text(settings.api_key)
    else:
        token.unlink(missing_ok=True)
    out = Generated(
        folder / "prometheus.yml", folder / "alertmanager.yml", folder / "spc.yml", rules
    )
    _dump(out.prometheus, prometheus_config(settings, rules, token if settings.api_key else None))
    _dump(out.alertmanager, alertmanager_config(settings))
    _dump(out.spc, spc_config(settings))
    return out


def prometheus_config(settings: Settings, rules: str, token: Path | None) -> dict[str, Any]:
    config = _load(ROOT / "prometheus" / "prometheus.yml")
    scale = settings.scale
    scale_keys(config["global"], ("scrape_interval", "evaluation_interval"), scale)
    port = {name: getattr(settings.ports, attr) for name, attr in _JOB_ADDRESSES.items()}
    address = f"{settings.host}:{settings.ports.alertmanager}"
    config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [address]}]}]
    config["rule_files"] = [rules]
    for job in config["scrape_configs"]:
        scale_keys(job, ("scrape_interval", "scrape_timeout"), scale)
        if scale < 1.0 and "scrape_timeout" in job and "scrape_interval" in job:
            # A compressed timeline keeps whole intervals for a scrape: a 167 ms timeout
            # would fail scrapes whenever the machine is busy.
            job["scrape_timeout"] = job["scrape_interval"]
        name = job["job_name"]
        if name in port:
            job["static_configs"] = [{"targets": [f"{settings.host}:{port[name]}"]}]
        if token is not None and name in ("llmscope-exporter", "llmscope-spc"):
            job["authorization"] = {"type": "Bearer", "credentials_file": str(token)}
    return config


def alertmanager_config(settings: Settings) -> dict[str, Any]:
    config = _load(ROOT / "alertmanager" / "alertmanager.yml")
    webhook = f"{settings.url(settings.ports.receiver)}/"
    for receiver in config.get("receivers", []):
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = webhook
    config["templates"] = [
        str(ROOT / "alertmanager" / pattern) for pattern in config.get("templates", [])
    ]
    if "resolve_timeout" in config.get("global", {}):
        scale_keys(config["global"], ("resolve_timeout",), settings.scale)
    _walk_routes(config["route"], lambda r: scale_keys(r, _ROUTE_DURATIONS, settings.scale))
    return config


def spc_config(settings: Settings) -> dict[str, Any]:
    config = _load(settings.spc_config or ROOT / "spc_rules" / "data" / "default.yml")
    for block in (config.setdefault("global", {}), *config.get("charts", [])):
        scale_keys(block, _SPC_DURATIONS, settings.scale)
    return config


def _rules(settings: Settings, folder: Path) -> str:
    """The shipped rule files as they are, or copies on the compressed timeline
    (rulescale.py: windows, offsets, ``for`` and ``keep_firing_for``)."""
    shipped = ROOT / "prometheus" / "rules"
    if settings.scale == 1.0:
        return str(shipped / "*.yml")
    out = folder / "rules"
    out.mkdir(exist_ok=True)
    for stale in out.glob("*.yml"):
        stale.unlink()
    for path in sorted(shipped.glob("*.yml")):
        _dump(out / path.name, scale_rules(_load(path), settings.scale))
    return str(out / "*.yml")


def _walk_routes(route: dict[str, Any], visit: Callable[[dict[str, Any]], None]) -> None:
    visit(route)
    for child in route.get("routes", []):
        _walk_routes(child, visit)


def _load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a YAML mapping")
    return doc


def _dump(path: Path, doc: dict[str, Any]) -> None:
    header = "# Generated by llmscope-stack at every start; edit the repository's file instead.\n"
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
