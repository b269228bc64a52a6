"""Engine presets at run time: the charts a configuration gets from what Prometheus stores.

At every load (the start, SIGHUP, ``POST /-/reload``) the watcher asks Prometheus which of the
presets' metric names it stores (``discovery.py``) and adds the preset charts that have data
beside the file's own. Every ``global.presets_refresh`` (5m) it asks again and reloads when
the answer changed, so an engine deployed later is charted without a restart, and one removed
leaves. When
Prometheus cannot answer, the last answer stands (none at a start: ``auto`` then charts no
preset until it can), and the next question comes sooner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from spc_rules.sidecar.config.loader import SidecarConfig
from spc_rules.sidecar.config.presets import PresetChart, resolve, wanted_names
from spc_rules.sidecar.discovery import Discover, DiscoveryError, stored_names

log = logging.getLogger("llmscope.spc")

RETRY = 60.0  # seconds between two questions while Prometheus does not answer (at most)
MAX_TIMEOUT = 10.0  # a load waits at most this long for the answer


@dataclass(frozen=True)
class Listing:
    """What the presets chart against one answer, for logs and ``--config.check``."""

    charts: tuple[PresetChart, ...]
    found: frozenset[str] | None

    def lines(self) -> list[str]:
        if not self.charts:
            return ["presets: no engine found"] if self.found is not None else []
        return [
            f"preset {p.engine}: {p.chart.name} ({p.chart.metric} by "
            f"{', '.join(p.chart.by) or 'nothing'}, kind {p.chart.kind})"
            for p in self.charts
        ]


class PresetWatcher:
    def __init__(self, base_url: str, discover: Discover = stored_names) -> None:
        self.base_url = base_url
        self._discover = discover
        self.found: frozenset[str] | None = None
        self.failing: str | None = None  # the last error, while asking fails
        self._engines: tuple[str, ...] = ()

    def ask(self, config: SidecarConfig) -> frozenset[str] | None:
        """The names stored now, or None (logged once per failure) if Prometheus cannot say."""
        timeout = min(config.query_timeout, MAX_TIMEOUT)
        try:
            found = self._discover(self.base_url, wanted_names(config.presets), timeout)
        except DiscoveryError as err:
            if self.failing is None:
                log.warning("presets: %s; keeping the engines found before", err)
            self.failing = str(err)
            return None
        if self.failing is not None:
            log.info("presets: %s answers again", self.base_url)
        self.failing = None
        return found

    def listing(self, config: SidecarConfig, found: frozenset[str] | None) -> Listing:
        return Listing(resolve(config.presets, config.charts, found), found)

    def apply(self, config: SidecarConfig) -> SidecarConfig:
        """The configuration with the preset charts that have data added."""
        if config.presets.mode == "none":
            return config
        found = self.ask(config)
        self.found = found if found is not None else self.found
        chosen = resolve(config.presets, config.charts, self.found)
        engines = tuple(sorted({p.engine for p in chosen}))
        if engines != self._engines:
            log.info(
                "presets: charting %s (%d charts)", ", ".join(engines) or "no engine", len(chosen)
            )
            self._engines = engines
        return replace(config, charts=config.charts + tuple(p.chart for p in chosen))

    async def watch(
        self, current: Callable[[], SidecarConfig], reload: Callable[[], object]
    ) -> None:
        """Ask again every ``presets_refresh`` (at most RETRY while failing); reload when the
        answer changed."""
        while True:
            refresh = current().presets_refresh
            await asyncio.sleep(min(refresh, RETRY) if self.failing else refresh)
            config = current()
            if config.presets.mode == "none":
                continue
            found = await asyncio.to_thread(self.ask, config)
            if found is not None and found != self.found:
                reload()
