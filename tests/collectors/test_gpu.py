"""GPU collector against a fake NVML: base units, labels, unsupported calls, no GPU at all."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry

from exporter.collectors.gpu import CLOCK_EVENT_REASONS, GpuCollector, peak_reader
from exporter.collectors.nvml import Device, Nvml
from exporter.collectors.sampler import PeakSampler
from testkit.fake_nvml import (
    DEVICE_FUNCTIONS,
    DRIVER_NOT_LOADED,
    LIBRARY_NOT_FOUND,
    FakeNvml,
    counting,
    two_gpus,
)
from tests.collectors.exposition import names, promtool_findings, render, samples, types, value

A = {
    "uuid": "GPU-aaaaaaaa-0000-0000-0000-000000000000",
    "index": "0",
    "name": "NVIDIA H100 80GB HBM3",
}
B = {
    "uuid": "GPU-bbbbbbbb-1111-1111-1111-111111111111",
    "index": "1",
    "name": "NVIDIA GeForce RTX 3090",
}

# Which families each NVML function feeds.
FEEDS = {
    "nvmlDeviceGetTemperature": {"llmscope_gpu_temperature_celsius"},
    "nvmlDeviceGetPowerUsage": {"llmscope_gpu_power_watts"},
    "nvmlDeviceGetEnforcedPowerLimit": {"llmscope_gpu_power_limit_watts"},
    "nvmlDeviceGetTotalEnergyConsumption": {"llmscope_gpu_energy_joules_total"},
    "nvmlDeviceGetUtilizationRates": {
        "llmscope_gpu_utilization_ratio",
        "llmscope_gpu_memory_utilization_ratio",
    },
    "nvmlDeviceGetMemoryInfo": {
        "llmscope_gpu_memory_used_bytes",
        "llmscope_gpu_memory_total_bytes",
    },
    "nvmlDeviceGetClockInfo": {"llmscope_gpu_sm_clock_hertz", "llmscope_gpu_memory_clock_hertz"},
    "nvmlDeviceGetNumFans": {"llmscope_gpu_fan_speed_ratio"},
    "nvmlDeviceGetCurrentClocksEventReasons": {"llmscope_gpu_clocks_event_reason"},
    "nvmlDeviceGetTotalEccErrors": {"llmscope_gpu_ecc_errors_total"},
}


def opened(fake: FakeNvml) -> tuple[Nvml, tuple[Device, ...]]:
    nvml = Nvml(fake)
    return nvml, nvml.open()


def series_of(found: dict[tuple[str, frozenset[tuple[str, str]]], float], uuid: str) -> set[str]:
    return {name for name, labels in found if ("uuid", uuid) in labels}


def test_readings_are_converted_to_base_units_and_labelled_per_gpu() -> None:
    found = samples(render(GpuCollector(*opened(FakeNvml(two_gpus())))))
    assert value(found, "llmscope_gpu_temperature_celsius", **A) == 41
    assert value(found, "llmscope_gpu_power_watts", **B) == pytest.approx(301.25)
    assert value(found, "llmscope_gpu_power_limit_watts", **A) == pytest.approx(700.0)
    assert value(found, "llmscope_gpu_energy_joules_total", **B) == pytest.approx(123.456)
    assert value(found, "llmscope_gpu_utilization_ratio", **A) == pytest.approx(0.35)
    assert value(found, "llmscope_gpu_memory_utilization_ratio", **A) == pytest.approx(0.12)
    assert value(found, "llmscope_gpu_memory_used_bytes", **A) == 1 << 30
    assert value(found, "llmscope_gpu_memory_total_bytes", **B) == 24 << 30
    assert value(found, "llmscope_gpu_sm_clock_hertz", **A) == pytest.approx(1.98e9)
    assert value(found, "llmscope_gpu_memory_clock_hertz", **A) == pytest.approx(2.619e9)
    assert value(found, "llmscope_gpu_fan_speed_ratio", **B, fan="1") == pytest.approx(0.55)
    assert value(found, "llmscope_gpu_ecc_errors_total", **A, type="corrected") == 3
    assert value(found, "llmscope_gpu_ecc_errors_total", **A, type="uncorrected") == 0


def test_counters_are_typed_as_counters() -> None:
    kinds = types(render(GpuCollector(*opened(FakeNvml(two_gpus())))))
    assert kinds["llmscope_gpu_energy_joules"] == "counter"
    assert kinds["llmscope_gpu_ecc_errors"] == "counter"
    assert kinds["llmscope_gpu_power_watts"] == "gauge"


def test_clock_event_reasons_are_one_gauge_per_known_reason() -> None:
    found = samples(render(GpuCollector(*opened(FakeNvml(two_gpus())))))
    reasons_a = {
        r
        for r, _ in CLOCK_EVENT_REASONS
        if value(found, "llmscope_gpu_clocks_event_reason", **A, reason=r)
    }
    reasons_b = {
        r
        for r, _ in CLOCK_EVENT_REASONS
        if value(found, "llmscope_gpu_clocks_event_reason", **B, reason=r)
    }
    assert reasons_a == {"gpu_idle", "sw_power_cap"}
    # 0x200 is a bit the table does not name: it adds no label value.
    assert reasons_b == {"sw_thermal_slowdown"}
    per_gpu = [
        k for k in found if k[0] == "llmscope_gpu_clocks_event_reason" and ("index", "1") in k[1]
    ]
    assert len(per_gpu) == len(CLOCK_EVENT_REASONS)


@pytest.mark.parametrize("function", sorted(FEEDS))
def test_an_unsupported_call_leaves_out_only_its_series_on_that_gpu(function: str) -> None:
    full = series_of(samples(render(GpuCollector(*opened(FakeNvml(two_gpus()))))), A["uuid"])
    gpus = two_gpus()
    gpus[0].unsupported.add(function)
    found = samples(render(GpuCollector(*opened(FakeNvml(gpus)))))
    assert series_of(found, A["uuid"]) == full - FEEDS[function]
    assert "llmscope_gpu_temperature_celsius" in series_of(found, B["uuid"])


def test_a_gpu_that_supports_nothing_has_no_series_and_the_other_gpu_is_complete() -> None:
    full = series_of(samples(render(GpuCollector(*opened(FakeNvml(two_gpus()))))), A["uuid"])
    gpus = two_gpus()
    gpus[1].unsupported.update(DEVICE_FUNCTIONS)
    found = samples(render(GpuCollector(*opened(FakeNvml(gpus)))))
    assert series_of(found, B["uuid"]) == set()
    assert series_of(found, A["uuid"]) == full


def test_clock_reasons_fall_back_to_the_throttle_call_on_an_old_driver_and_remember_it() -> None:
    fake = FakeNvml(two_gpus(), not_found={"nvmlDeviceGetCurrentClocksEventReasons"})
    collector = GpuCollector(*opened(fake))
    new_calls = counting(fake, "nvmlDeviceGetCurrentClocksEventReasons")
    render(collector)
    found = samples(render(collector))
    assert value(found, "llmscope_gpu_clocks_event_reason", **A, reason="sw_power_cap") == 1
    assert new_calls() == 1  # tried once in the life of the process, not once per scrape


def test_readings_fall_back_when_the_binding_lacks_a_deprecated_function() -> None:
    fake = FakeNvml(two_gpus(), missing={"nvmlDeviceGetTemperature"})
    found = samples(render(GpuCollector(*opened(fake))))
    assert value(found, "llmscope_gpu_temperature_celsius", **B) == 63
    assert counting(fake, "nvmlDeviceGetTemperatureV")() == 2


@pytest.mark.parametrize("error", [LIBRARY_NOT_FOUND, DRIVER_NOT_LOADED])
def test_no_driver_means_no_gpu_and_a_debug_line(
    error: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="llmscope.collectors.gpu")
    nvml, devices = opened(FakeNvml(two_gpus(), init_error=error))
    assert devices == ()
    assert list(GpuCollector(nvml, devices).collect()) == []
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert "no GPU" in caplog.records[0].getMessage()


def test_zero_devices_means_no_gpu() -> None:
    nvml, devices = opened(FakeNvml([]))
    assert devices == ()
    assert list(GpuCollector(nvml, devices).collect()) == []


def test_a_lost_gpu_is_left_out_at_start_and_the_others_are_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gpus = two_gpus()
    gpus[0].lost = True
    _, devices = opened(FakeNvml(gpus))
    assert [d.index for d in devices] == [1]
    assert "GPU 0 left out" in caplog.text


def test_a_non_nvml_error_is_not_swallowed() -> None:
    fake = FakeNvml(two_gpus())
    collector = GpuCollector(*opened(fake))
    fake.fail_with = OSError("broken binding")
    with pytest.raises(OSError, match="broken binding"):
        list(collector.collect())


def test_registering_touches_no_hardware() -> None:
    fake = FakeNvml(two_gpus())
    nvml, devices = opened(fake)
    fake.calls.clear()
    CollectorRegistry().register(GpuCollector(nvml, devices))
    assert fake.calls == []


def test_sampled_peaks_are_exported_as_max_and_mean_per_gpu() -> None:
    gpus = two_gpus()
    fake = FakeNvml(gpus)
    nvml, devices = opened(fake)
    sampler = PeakSampler(peak_reader(nvml, devices), 0.5)
    for watts in (100_000, 400_000, 250_000):
        gpus[0].power_mw = watts
        sampler.sample_once()
    found = samples(render(GpuCollector(nvml, devices, sampler)))
    assert value(found, "llmscope_gpu_power_max_watts", **A) == pytest.approx(400.0)
    assert value(found, "llmscope_gpu_power_mean_watts", **A) == pytest.approx(250.0)
    assert value(found, "llmscope_gpu_temperature_max_celsius", **B) == 63
    assert value(found, "llmscope_gpu_temperature_mean_celsius", **B) == 63


def test_gpu_exposition_passes_promtool() -> None:
    gpus = two_gpus()
    nvml, devices = opened(FakeNvml(gpus))
    sampler = PeakSampler(peak_reader(nvml, devices), 0.5)
    sampler.sample_once()
    text = render(GpuCollector(nvml, devices, sampler))
    assert "llmscope_gpu_power_max_watts" in names(samples(text))
    assert promtool_findings(text) == ""
