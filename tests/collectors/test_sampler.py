"""The peak sampler: max and mean per window, a background thread that starts and stops."""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable

import pytest

from exporter.collectors.sampler import PeakSampler, Window


class Script:
    """A reader that returns the scripted readings in turn, then repeats the last one."""

    def __init__(self, *readings: dict[Hashable, float]) -> None:
        self.readings = list(readings)
        self.calls = 0
        self.called = threading.Event()

    def __call__(self) -> dict[Hashable, float]:
        reading = self.readings[min(self.calls, len(self.readings) - 1)]
        self.calls += 1
        if self.calls >= 3:
            self.called.set()
        return reading


def sampled(*readings: dict[Hashable, float]) -> PeakSampler:
    sampler = PeakSampler(Script(*readings), 0.5)
    for _ in readings:
        sampler.sample_once()
    return sampler


def test_a_window_holds_the_max_and_mean_since_the_previous_take() -> None:
    sampler = sampled({"p": 100.0}, {"p": 400.0}, {"p": 250.0})
    assert sampler.take() == {"p": Window(max=400.0, mean=250.0, samples=3)}


def test_take_starts_a_new_window() -> None:
    script = Script({"p": 400.0}, {"p": 120.0})
    sampler = PeakSampler(script, 0.5)
    sampler.sample_once()
    sampler.take()
    sampler.sample_once()
    assert sampler.take() == {"p": Window(max=120.0, mean=120.0, samples=1)}


def test_a_scrape_between_two_samples_repeats_the_latest_value() -> None:
    sampler = sampled({"p": 100.0}, {"p": 300.0})
    sampler.take()
    assert sampler.take() == {"p": Window(max=300.0, mean=300.0, samples=0)}


def test_nothing_is_reported_before_the_first_sample() -> None:
    assert PeakSampler(Script({"p": 1.0}), 0.5).take() == {}


def test_a_quantity_that_vanishes_is_forgotten() -> None:
    sampler = sampled({"p": 100.0, "t": 40.0}, {"t": 41.0})
    assert set(sampler.take()) == {"t"}


def test_a_failing_reader_is_logged_once_and_does_not_raise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> dict[Hashable, float]:
        raise RuntimeError("driver stalled")

    sampler = PeakSampler(broken, 0.5)
    sampler.sample_once()
    sampler.sample_once()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "driver stalled" in warnings[0].getMessage()
    assert sampler.take() == {}


def test_the_thread_samples_in_the_background_and_stops() -> None:
    script = Script({"p": 1.0})
    sampler = PeakSampler(script, 0.01, name="test-sampler")
    sampler.start()
    try:
        assert script.called.wait(10), "the sampler thread never sampled"
        thread = next(t for t in threading.enumerate() if t.name == "test-sampler")
        assert thread.daemon
    finally:
        sampler.stop()
    assert not thread.is_alive()
    calls = script.calls
    assert sampler.take()["p"].samples >= 3
    assert script.calls == calls  # nothing samples after stop


@pytest.mark.parametrize("interval", [0.0, -1.0])
def test_a_non_positive_interval_is_refused(interval: float) -> None:
    with pytest.raises(ValueError, match="sample interval must be greater than zero"):
        PeakSampler(Script({"p": 1.0}), interval)


def test_scrapes_racing_the_thread_always_see_whole_windows() -> None:
    flips = iter(range(10**9))

    def read() -> dict[Hashable, float]:
        n = next(flips)
        # Keys come and go while take() runs in this thread.
        return {"p": float(n % 7), **({"t": 40.0} if n % 2 else {})}

    sampler = PeakSampler(read, 0.0005)
    sampler.start()
    try:
        for _ in range(2000):
            for window in sampler.take().values():
                assert window.max >= window.mean
    finally:
        sampler.stop()
