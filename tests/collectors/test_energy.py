"""Energy per probe: GPU selection, counter deltas, joules per output token."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter.collectors.energy import EnergyMeter, EnergyRecorder
from exporter.collectors.nvml import Nvml
from exporter.config.types import TargetConfig
from testkit.fake_nvml import FakeGpu, FakeNvml, two_gpus
from tests.collectors.exposition import promtool_findings, samples, value

UUID_B = "GPU-bbbbbbbb-1111-1111-1111-111111111111"


def meter_for(gpus: list[FakeGpu]) -> EnergyMeter:
    nvml = Nvml(FakeNvml(gpus))
    return EnergyMeter(nvml, nvml.open())


def target(gpu: str | None, name: str = "local") -> TargetConfig:
    return TargetConfig(name=name, provider="simulated", model="m", gpu=gpu)


@pytest.mark.parametrize(
    ("selector", "joules"),
    [("all", 9000.0 + 123.456), ("0", 9000.0), ("1", 123.456), (UUID_B, 123.456)],
)
def test_read_joules_sums_the_selected_gpus(selector: str, joules: float) -> None:
    assert meter_for(two_gpus()).read_joules(selector) == pytest.approx(joules)


def test_a_uuid_matches_regardless_of_case() -> None:
    assert meter_for(two_gpus()).read_joules(UUID_B.upper()) is not None


@pytest.mark.parametrize("selector", ["2", "GPU-ffffffff-0000-0000-0000-000000000000", "MIG-x"])
def test_a_selector_that_matches_no_gpu_reads_none_and_warns_once(
    selector: str, caplog: pytest.LogCaptureFixture
) -> None:
    meter = meter_for(two_gpus())
    assert meter.read_joules(selector) is None
    assert meter.read_joules(selector) is None
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_a_gpu_without_an_energy_counter_makes_the_sum_unknown() -> None:
    gpus = two_gpus()
    gpus[1].unsupported.add("nvmlDeviceGetTotalEnergyConsumption")
    meter = meter_for(gpus)
    assert meter.read_joules("all") is None
    assert meter.read_joules("0") == pytest.approx(9000.0)


def recorder_for(gpus: list[FakeGpu]) -> tuple[EnergyRecorder, CollectorRegistry]:
    registry = CollectorRegistry()
    return EnergyRecorder(registry, meter_for(gpus)), registry


def test_a_probe_is_charged_the_energy_used_while_it_ran() -> None:
    gpus = two_gpus()
    recorder, registry = recorder_for(gpus)
    t = target("all")
    start = recorder.before(t)
    gpus[0].energy_mj += 150_000
    gpus[1].energy_mj += 50_000
    assert recorder.after(t, start, output_tokens=40) == pytest.approx(200.0)
    found = samples(generate_latest(registry).decode())
    assert value(found, "llmscope_target_energy_joules_total", target="local") == pytest.approx(
        200.0
    )
    per_token = "llmscope_target_energy_per_output_token_joules"
    assert value(found, f"{per_token}_sum", target="local") == pytest.approx(5.0)
    assert value(found, f"{per_token}_count", target="local") == 1
    assert value(found, f"{per_token}_bucket", target="local", le="5.0") == 1
    assert value(found, f"{per_token}_bucket", target="local", le="2.0") == 0


def test_energy_accumulates_over_probes_of_one_target() -> None:
    gpus = two_gpus()
    recorder, registry = recorder_for(gpus)
    t = target("1")
    for _ in range(3):
        start = recorder.before(t)
        gpus[1].energy_mj += 10_000
        recorder.after(t, start, output_tokens=10)
    found = samples(generate_latest(registry).decode())
    assert value(found, "llmscope_target_energy_joules_total", target="local") == pytest.approx(
        30.0
    )
    per_token = "llmscope_target_energy_per_output_token_joules"
    assert value(found, f"{per_token}_count", target="local") == 3


def test_a_target_without_a_gpu_records_nothing() -> None:
    gpus = two_gpus()
    fake_calls = FakeNvml(gpus)
    nvml = Nvml(fake_calls)
    recorder = EnergyRecorder(CollectorRegistry(), EnergyMeter(nvml, nvml.open()))
    fake_calls.calls.clear()
    assert recorder.before(target(None)) is None
    assert recorder.after(target(None), None, output_tokens=10) is None
    assert fake_calls.calls == []


def test_no_output_tokens_charges_the_counter_but_observes_no_ratio() -> None:
    gpus = two_gpus()
    recorder, registry = recorder_for(gpus)
    t = target("0")
    start = recorder.before(t)
    gpus[0].energy_mj += 1_000
    assert recorder.after(t, start, output_tokens=None) == pytest.approx(1.0)
    assert recorder.after(t, start, output_tokens=0) == pytest.approx(1.0)
    found = samples(generate_latest(registry).decode())
    assert (
        "llmscope_target_energy_per_output_token_joules_count",
        frozenset({("target", "local")}),
    ) not in found


def test_a_counter_that_did_not_tick_observes_no_ratio() -> None:
    recorder, registry = recorder_for(two_gpus())
    t = target("0")
    assert recorder.after(t, recorder.before(t), output_tokens=10) == 0.0
    found = samples(generate_latest(registry).decode())
    assert value(found, "llmscope_target_energy_joules_total", target="local") == 0.0
    assert (
        "llmscope_target_energy_per_output_token_joules_count",
        frozenset({("target", "local")}),
    ) not in found


def test_a_counter_that_went_backwards_is_not_charged() -> None:
    gpus = two_gpus()
    recorder, _ = recorder_for(gpus)
    t = target("0")
    start = recorder.before(t)
    gpus[0].energy_mj = 5  # the driver reloaded during the probe
    assert recorder.after(t, start, output_tokens=10) is None


def test_without_a_meter_a_gpu_target_warns_once_and_records_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = EnergyRecorder(CollectorRegistry(), None)
    t = target("all")
    assert recorder.before(t) is None
    assert recorder.before(t) is None
    assert recorder.after(t, 1.0, output_tokens=10) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["target local names gpu all, but no GPU is monitored"]


def test_a_meter_given_later_is_used() -> None:
    gpus = two_gpus()
    recorder = EnergyRecorder(CollectorRegistry(), None)
    recorder.meter = meter_for(gpus)
    t = target("0")
    start = recorder.before(t)
    gpus[0].energy_mj += 3_000
    assert recorder.after(t, start, output_tokens=3) == pytest.approx(3.0)


def test_forget_drops_a_removed_targets_series() -> None:
    gpus = two_gpus()
    recorder, registry = recorder_for(gpus)
    for name in ("kept", "gone"):
        t = target("0", name)
        start = recorder.before(t)
        gpus[0].energy_mj += 2_000
        recorder.after(t, start, output_tokens=4)
    recorder.forget("gone")
    recorder.forget("never-probed")
    text = generate_latest(registry).decode()
    assert 'target="gone"' not in text
    assert 'target="kept"' in text


def test_energy_exposition_passes_promtool() -> None:
    gpus = two_gpus()
    recorder, registry = recorder_for(gpus)
    t = target("all")
    start = recorder.before(t)
    gpus[0].energy_mj += 80_000
    recorder.after(t, start, output_tokens=16)
    assert promtool_findings(generate_latest(registry).decode()) == ""
