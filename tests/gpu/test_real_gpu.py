"""The real-GPU check (tests/gpu/check_gpu.py) under pytest: on a host with an NVIDIA GPU it
must pass; on one without, it must say so (asked of NVML directly) and fail nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from exporter.collectors.nvml import Nvml
from testkit.fake_nvml import FakeGpu, FakeNvml, two_gpus
from tests.gpu import check_gpu

SCRIPT = Path(check_gpu.__file__).resolve()

# A pynvml whose nvmlInit fails the way it does on a host without the NVIDIA driver.
NO_DRIVER_PYNVML = """
class NVMLError(Exception):
    def __init__(self, value):
        self.value = value

    def __str__(self):
        return "NVML Shared Library Not Found"

def nvmlInit():
    raise NVMLError(12)
"""


def _gpus_here() -> int:
    """How many GPUs NVML sees on this host, asked directly rather than through the check."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # no driver, no library: no GPU for us
        return 0
    try:
        return int(pynvml.nvmlDeviceGetCount())
    finally:
        pynvml.nvmlShutdown()


def test_gpu_check_passes_on_a_gpu_and_says_skip_only_where_there_is_none() -> None:
    outcome = check_gpu.run()
    if _gpus_here():
        assert not outcome.skipped, outcome.skipped
        assert outcome.failures == [], "\n".join(outcome.notes + outcome.failures)
    else:
        assert (outcome.skipped or "").startswith(check_gpu.SKIP), outcome.skipped
        assert outcome.failures == []


def test_the_script_skips_cleanly_without_a_driver_from_any_directory(tmp_path: Path) -> None:
    (tmp_path / "pynvml.py").write_text(NO_DRIVER_PYNVML, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        cwd=tmp_path,
        env=env,
        check=False,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines() == [
        "SKIP: no NVIDIA GPU/driver (NVML did not start or found no GPU)"
    ]


class RisingEnergy(FakeNvml):
    """A fake NVML whose energy counters advance 5 J per read, as a busy GPU's do."""

    def nvmlDeviceGetTotalEnergyConsumption(self, gpu: FakeGpu) -> int:
        gpu.energy_mj += 5_000
        return super().nvmlDeviceGetTotalEnergyConsumption(gpu)


def test_the_checks_pass_on_plausible_fake_gpus() -> None:
    nvml = Nvml(RisingEnergy(two_gpus()))
    outcome = check_gpu.check(nvml, nvml.open(), load_seconds=0.3)
    assert outcome.failures == []
    assert any(note.startswith("energy: +") for note in outcome.notes)


def test_the_checks_catch_implausible_values_and_a_still_energy_counter() -> None:
    gpus = two_gpus()
    gpus[0].temperature = 500
    gpus[1].memory_used = gpus[1].memory_total + 1
    gpus[1].unsupported.add("nvmlDeviceGetPowerUsage")
    nvml = Nvml(FakeNvml(gpus))
    failures = "\n".join(check_gpu.check(nvml, nvml.open(), load_seconds=0.1).failures)
    assert "llmscope_gpu_temperature_celsius" in failures
    assert "GPU 1: memory used exceeds memory total" in failures
    assert "GPU 1: missing llmscope_gpu_power_watts" in failures
    assert "energy counter did not rise" in failures
