"""Fixtures of the SPC tests."""

from __future__ import annotations

import pytest

from spc_rules.detectors import runlength

Solve = tuple[float, float, int]  # h, mu, cells (0: the default)


@pytest.fixture
def chain_solves(monkeypatch: pytest.MonkeyPatch) -> list[Solve]:
    """Every Markov-chain ARL solved from here on (``runlength.arl``), as it is called."""
    solved: list[Solve] = []
    real = runlength.arl

    def recorded(h: float, k: float, **kwargs: float) -> float:
        solved.append((h, kwargs.get("mu", 0.0), int(kwargs.get("states", 0))))
        return real(h, k, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runlength, "arl", recorded)
    return solved
