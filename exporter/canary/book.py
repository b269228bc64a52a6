"""What every canary has seen: its modal-answer window, its counters, the `expect` check."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from exporter.canary.answers import ModalWindow, fingerprint
from exporter.canary.state import StateFile, Windows
from exporter.config.canaries import CanaryConfig


@dataclass
class CanaryCounts:
    """Counters of one canary since the exporter started (Prometheus handles the resets)."""

    probes: int = 0  # canary probes sent
    answers: int = 0  # probes that returned an answer
    expect_failures: int = 0  # answers that did not match `expect`
    compared: int = 0  # answers compared with a learned modal answer
    different: int = 0  # compared answers that differ from it


@dataclass(frozen=True)
class Verdict:
    expect_ok: bool | None  # None: no `expect`
    same_as_modal: bool | None  # None: no modal answer yet


class CanaryBook:
    """Per (target, canary): window, counters; persisted through a StateFile.

    `saved` is what the state file held at start (`StateFile.load`); `save` writes the current
    windows back (blocking file I/O: the exporter calls it off its event loop).
    """

    def __init__(self, saved: Windows, state: StateFile) -> None:
        self._state = state
        self._saved = saved
        self._windows: dict[tuple[str, str], ModalWindow] = {}
        self._configs: dict[tuple[str, str], CanaryConfig] = {}
        self.counts: dict[tuple[str, str], CanaryCounts] = {}

    def configure(self, canaries: Iterable[tuple[str, CanaryConfig]]) -> None:
        """Start tracking (target, canary) pairs; a pair whose prompt or window changed
        starts a fresh window, a removed pair is forgotten (and its series vanish)."""
        wanted = {(target, c.name): c for target, c in canaries}
        for key in list(self._windows):
            old = self._configs[key]
            new = wanted.get(key)
            if new is None or (new.prompt, new.window) != (old.prompt, old.window):
                del self._windows[key], self._configs[key]
                self.counts.pop(key, None)
                if new is not None:
                    self._saved.get(key[0], {}).pop(key[1], None)
        for key, canary in wanted.items():
            self._configs[key] = canary
            if key not in self._windows:
                history = self._saved.get(key[0], {}).get(key[1], [])
                self._windows[key] = ModalWindow(canary.window, history[-canary.window :])
                self.counts.setdefault(key, CanaryCounts())

    def sent(self, target: str, canary: str) -> None:
        self.counts[(target, canary)].probes += 1

    def observe(self, target: str, canary: str, answer: str) -> Verdict:
        """Judge one answer, count it and learn from it."""
        key = (target, canary)
        config, window, counts = self._configs[key], self._windows[key], self.counts[key]
        counts.answers += 1
        expect_ok = None
        if config.expect is not None:
            expect_ok = re.search(config.expect, answer) is not None
            counts.expect_failures += not expect_ok
        printed = fingerprint(answer)
        mode = window.modal()
        same = None if mode is None else printed == mode
        if same is not None:
            counts.compared += 1
            counts.different += not same
        window.add(printed)
        return Verdict(expect_ok, same)

    def save(self) -> bool:
        return self._state.save(self._windows_by_target())

    def modal_share(self, target: str, canary: str) -> float | None:
        return self._windows[(target, canary)].modal_share()

    def _windows_by_target(self) -> dict[str, dict[str, list[str]]]:
        out: dict[str, dict[str, list[str]]] = {}
        for (target, canary), window in self._windows.items():
            out.setdefault(target, {})[canary] = list(window.recent)
        return out
