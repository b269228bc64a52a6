"""What serves each target, as the provider reports it, and how often that changed.

``llmscope_model_info`` has one series per target: the current identity only, so a swap
replaces the series instead of adding one (bounded by the number of targets).
``llmscope_model_changes_total`` counts swaps; the first identity of a target is not one.
A field a probe does not report keeps its last value, so a provider that leaves out
``system_fingerprint`` now and then does not look like a swap. Values come from responses,
so each is cut to ``MAX_VALUE`` characters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter.providers.protocol import ServedBy

MAX_VALUE = 128
LABELS = ["target", "response_model", "model_version", "system_fingerprint", "model_digest"]


@dataclass
class _Target:
    served: ServedBy | None = None
    changes: float = 0.0


class ModelIdentity(Collector):
    def __init__(self) -> None:
        self._lock = threading.Lock()  # scrapes run on the web server's threads
        self._targets: dict[str, _Target] = {}

    def declare(self, targets: Iterable[str]) -> None:
        """The configured targets; others' series vanish, kept ones keep their state."""
        with self._lock:
            old = self._targets
            self._targets = {name: old.get(name) or _Target() for name in targets}

    def observe(self, target: str, served: ServedBy) -> bool:
        """Record what served a probe; True when it differs from what served the last."""
        if not served.known:
            return False
        clean = ServedBy(*(_bounded(v) for v in _fields(served)))
        with self._lock:
            state = self._targets.get(target)
            if state is None:
                return False
            old = state.served
            new = clean if old is None else old.merged(clean)
            changed = old is not None and new != old
            state.served = new
            if changed:
                state.changes += 1
            return changed

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "llmscope_model_info",
            "What served the target's latest probes, as the provider reports it (value "
            "always 1; empty where the provider does not report a field).",
            labels=LABELS,
        )
        changes = CounterMetricFamily(
            "llmscope_model_changes",
            "Times the model serving the target changed (name, version, fingerprint or digest).",
            labels=["target"],
        )
        with self._lock:
            for name, state in self._targets.items():
                if state.served is not None:
                    info.add_metric([name, *(v or "" for v in _fields(state.served))], 1.0)
                changes.add_metric([name], state.changes)
        yield info
        yield changes


def _fields(served: ServedBy) -> tuple[str | None, str | None, str | None, str | None]:
    return served.model, served.version, served.fingerprint, served.digest


def _bounded(value: str | None) -> str | None:
    return None if value is None else value[:MAX_VALUE]
