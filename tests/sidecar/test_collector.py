"""The collector is held back during a cycle and collects what the cycle left in cycles."""

from __future__ import annotations

import gc
import weakref

from spc_rules.sidecar.heap import collected_at_end


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_the_collector_waits_for_the_cycle_and_then_frees_its_reference_cycles() -> None:
    assert gc.isenabled()
    with collected_at_end():
        assert not gc.isenabled()
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # a cycle: reference counting alone never frees it
        alive = weakref.ref(a)
        del a, b
        churn: list[list[int]] = [
            [] for _ in range(10 * gc.get_threshold()[0])
        ]  # would set off collections
        assert alive() is not None  # nothing collected it while the cycle ran
        del churn
    assert gc.isenabled()
    assert alive() is None


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with collected_at_end():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
