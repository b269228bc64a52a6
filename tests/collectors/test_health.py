"""Collector health, and ``register`` wiring the collectors the config enables."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from exporter.collectors import register
from exporter.collectors.health import MonitoredCollectors
from exporter.config.types import CollectorsConfig
from testkit.fake_nvml import LIBRARY_NOT_FOUND, FakeNvml, two_gpus
from testkit.fake_psutil import FakePsutil
from tests.collectors.exposition import names, promtool_findings, render, samples, value


class Fixed:
    def __init__(self, name: str, fail: bool = False) -> None:
        self.name = name
        self.fail = fail

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(self.name, "test")]

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self.name, "test", value=1.0)
        if self.fail:
            raise OSError("permission denied: /proc/diskstats")


def ticking() -> Iterator[float]:
    t = 0.0
    while True:
        yield t
        t += 0.25


def test_each_collector_reports_success_and_duration() -> None:
    clock = ticking()
    found = samples(
        render(MonitoredCollectors({"a": Fixed("a_up"), "b": Fixed("b_up")}, lambda: next(clock)))
    )
    assert value(found, "llmscope_collector_success", collector="a") == 1
    assert value(found, "llmscope_collector_success", collector="b") == 1
    assert value(found, "llmscope_collector_duration_seconds", collector="b") == 0.25
    assert {"a_up", "b_up"} <= names(found)


def test_a_failing_collector_reports_zero_and_none_of_its_series(
    caplog: pytest.LogCaptureFixture,
) -> None:
    monitored = MonitoredCollectors({"bad": Fixed("bad_up", fail=True), "good": Fixed("good_up")})
    found = samples(render(monitored))
    render(monitored)
    assert value(found, "llmscope_collector_success", collector="bad") == 0
    assert value(found, "llmscope_collector_success", collector="good") == 1
    assert "bad_up" not in names(found)
    assert "good_up" in names(found)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["collector bad failed: OSError: permission denied: /proc/diskstats"]


def test_a_recovered_collector_is_logged_and_reports_one(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    flaky = Fixed("flaky_up", fail=True)
    monitored = MonitoredCollectors({"flaky": flaky})
    render(monitored)
    flaky.fail = False
    found = samples(render(monitored))
    assert value(found, "llmscope_collector_success", collector="flaky") == 1
    assert "collector flaky works again" in caplog.text


def config(**kwargs: object) -> CollectorsConfig:
    return CollectorsConfig(**kwargs)  # type: ignore[arg-type]


def test_register_with_two_gpus_exports_host_gpu_and_health() -> None:
    registry = CollectorRegistry()
    fake = FakeNvml(two_gpus())
    handle = register(
        registry, config(gpu_sample_interval=0.05), psutil_module=FakePsutil(), nvml_module=fake
    )
    try:
        assert handle.energy_meter is not None
        assert [d.index for d in handle.energy_meter.devices] == [0, 1]
        found = samples(generate_latest(registry).decode())
        assert value(found, "llmscope_collector_success", collector="host") == 1
        assert value(found, "llmscope_collector_success", collector="gpu") == 1
        assert "llmscope_gpu_temperature_celsius" in names(found)
        assert "llmscope_host_load1" in names(found)
    finally:
        handle.stop()
    assert fake.shutdowns == 1


def test_no_gpu_is_a_successful_gpu_collector_with_no_series() -> None:
    registry = CollectorRegistry()
    fake = FakeNvml(two_gpus(), init_error=LIBRARY_NOT_FOUND)
    handle = register(registry, config(), psutil_module=FakePsutil(), nvml_module=fake)
    found = samples(generate_latest(registry).decode())
    handle.stop()
    assert handle.energy_meter is None
    assert value(found, "llmscope_collector_success", collector="gpu") == 1
    assert not {n for n in names(found) if n.startswith("llmscope_gpu_")}


def test_without_the_pynvml_package_there_is_no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    registry = CollectorRegistry()
    handle = register(registry, config(host=False))
    found = samples(generate_latest(registry).decode())
    handle.stop()
    assert handle.energy_meter is None
    assert value(found, "llmscope_collector_success", collector="gpu") == 1


def test_zero_gpus_shuts_nvml_down_at_once() -> None:
    fake = FakeNvml([])
    handle = register(CollectorRegistry(), config(host=False), nvml_module=fake)
    assert fake.shutdowns == 1
    assert handle.energy_meter is None
    handle.stop()
    assert fake.shutdowns == 1


def test_switched_off_collectors_are_not_registered() -> None:
    registry = CollectorRegistry()
    fake = FakeNvml(two_gpus())
    handle = register(registry, config(host=False, gpu=False, rapl=False), nvml_module=fake)
    assert generate_latest(registry) == b""
    assert fake.calls == []
    handle.stop()


def test_host_only_reports_no_gpu_health() -> None:
    registry = CollectorRegistry()
    handle = register(registry, config(gpu=False, rapl=False), psutil_module=FakePsutil())
    found = samples(generate_latest(registry).decode())
    handle.stop()
    assert {
        dict(labels)["collector"] for name, labels in found if name == "llmscope_collector_success"
    } == {"host"}


def test_stop_unregisters_so_register_can_run_again() -> None:
    registry = CollectorRegistry()
    fake = FakeNvml(two_gpus())
    register(registry, config(), psutil_module=FakePsutil(), nvml_module=fake).stop()
    assert generate_latest(registry) == b""
    handle = register(registry, config(), psutil_module=FakePsutil(), nvml_module=fake)
    handle.stop()
    handle.stop()
    assert fake.shutdowns == 2


def test_registering_twice_fails_and_leaves_nvml_shut_down() -> None:
    registry = CollectorRegistry()
    first = register(registry, config(host=False), nvml_module=FakeNvml(two_gpus()))
    second_fake = FakeNvml(two_gpus())
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        register(registry, config(host=False), nvml_module=second_fake)
    assert second_fake.shutdowns == 1
    first.stop()


def test_register_on_this_machine_reads_the_real_host_and_never_fails_on_the_gpu() -> None:
    # The real psutil and the real pynvml (this development machine has no NVIDIA driver).
    registry = CollectorRegistry()
    handle = register(registry, CollectorsConfig(per_cpu=True))
    try:
        text = generate_latest(registry).decode()
    finally:
        handle.stop()
    found = samples(text)
    gpu_series = {n for n in names(found) if n.startswith("llmscope_gpu_")}
    assert (handle.energy_meter is None) == (not gpu_series)
    assert value(found, "llmscope_collector_success", collector="host") == 1
    assert value(found, "llmscope_collector_success", collector="gpu") == 1
    assert "llmscope_host_memory_total_bytes" in names(found)
    assert promtool_findings(text) == ""
