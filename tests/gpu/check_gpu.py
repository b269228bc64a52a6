"""Check the GPU collector on a real NVIDIA GPU: ``python tests/gpu/check_gpu.py``.

Reads every GPU through the real pynvml, checks each value lies in a plausible range, runs
the exposition through ``promtool check metrics``, cross-checks UUIDs and memory with
nvidia-smi, then loads the GPUs (torch or cupy, whichever imports; nothing is downloaded)
and checks that the energy counter rises and the peak sampler saw the load.

Without a driver or a GPU it prints ``SKIP: no NVIDIA GPU/driver ...`` and exits 0; a failed
check exits 1. ``tests/gpu/test_real_gpu.py`` runs the same checks under pytest.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.collectors.energy import EnergyMeter
from exporter.collectors.gpu import GpuCollector, peak_reader
from exporter.collectors.health import MonitoredCollectors
from exporter.collectors.nvml import Device, Nvml
from exporter.collectors.sampler import PeakSampler

SKIP = "SKIP: no NVIDIA GPU/driver"
# (low, high) per family; a bound of None is open.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "llmscope_gpu_temperature_celsius": (0.0, 120.0),
    "llmscope_gpu_power_watts": (1.0, 2000.0),
    "llmscope_gpu_power_limit_watts": (10.0, 2000.0),
    "llmscope_gpu_energy_joules_total": (0.0, None),
    "llmscope_gpu_utilization_ratio": (0.0, 1.0),
    "llmscope_gpu_memory_utilization_ratio": (0.0, 1.0),
    "llmscope_gpu_memory_total_bytes": (256.0 * 2**20, 2.0**40),
    "llmscope_gpu_memory_used_bytes": (0.0, 2.0**40),
    "llmscope_gpu_sm_clock_hertz": (1e6, 5e9),
    "llmscope_gpu_memory_clock_hertz": (1e6, 5e10),
    "llmscope_gpu_fan_speed_ratio": (0.0, 1.5),  # NVML allows a little over 100 %
    "llmscope_gpu_clocks_event_reason": (0.0, 1.0),
    "llmscope_gpu_ecc_errors_total": (0.0, None),
}
REQUIRED = (
    "llmscope_gpu_temperature_celsius",
    "llmscope_gpu_power_watts",
    "llmscope_gpu_memory_total_bytes",
    "llmscope_gpu_memory_used_bytes",
    "llmscope_gpu_utilization_ratio",
    "llmscope_gpu_sm_clock_hertz",
)
Found = dict[tuple[str, str], float]  # (family sample name, uuid) -> value


@dataclass
class Outcome:
    skipped: str | None = None
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def run(load_seconds: float = 8.0) -> Outcome:
    nvml = Nvml.load()
    if nvml is None:
        return Outcome(skipped=f"{SKIP} (the nvidia-ml-py package is not installed)")
    devices = nvml.open()
    if not devices:
        nvml.close()
        return Outcome(skipped=f"{SKIP} (NVML did not start or found no GPU)")
    try:
        return check(nvml, devices, load_seconds)
    finally:
        nvml.close()


def check(nvml: Nvml, devices: tuple[Device, ...], load_seconds: float) -> Outcome:
    """Every check on already opened GPUs (the fake NVML in tests, the real one here)."""
    out = Outcome(notes=[f"GPU {d.index}: {d.name} {d.uuid}" for d in devices])
    sampler = PeakSampler(peak_reader(nvml, devices), 0.1, name="check-gpu-sampler")
    registry = CollectorRegistry()
    registry.register(MonitoredCollectors({"gpu": GpuCollector(nvml, devices, sampler)}))
    idle = _scrape(registry, devices, out)
    _promtool(generate_latest(registry).decode(), out)
    _nvidia_smi(devices, idle, out)

    meter = EnergyMeter(nvml, devices)
    before, started = meter.read_joules("all"), time.monotonic()
    sampler.start()
    try:
        loaded_with = _load(load_seconds, out)
    finally:
        sampler.stop()
    after, elapsed = meter.read_joules("all"), time.monotonic() - started
    if before is None or after is None:
        out.notes.append("energy: NVML has no energy counter on these GPUs (pre-Volta?)")
    elif after <= before:
        out.failures.append(f"energy counter did not rise: {before} J then {after} J")
    else:
        mean = (after - before) / elapsed
        out.notes.append(f"energy: +{after - before:.1f} J in {elapsed:.1f} s ({mean:.0f} W mean)")
    busy = _scrape(registry, devices, out)
    for d in devices:
        peak = busy.get(("llmscope_gpu_power_max_watts", d.uuid))
        mean_w = busy.get(("llmscope_gpu_power_mean_watts", d.uuid))
        if peak is None or mean_w is None or peak < mean_w:
            out.failures.append(f"GPU {d.index}: power peak {peak} W against mean {mean_w} W")
        else:
            out.notes.append(f"GPU {d.index}: power mean {mean_w:.0f} W, peak {peak:.0f} W")
        if loaded_with:
            idle_w = idle.get(("llmscope_gpu_power_watts", d.uuid), 0.0)
            out.notes.append(f"GPU {d.index}: idle {idle_w:.0f} W -> loaded peak {peak} W")
    return out


def _scrape(registry: CollectorRegistry, devices: tuple[Device, ...], out: Outcome) -> Found:
    found: Found = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            if s.name == "llmscope_collector_success" and s.value != 1:
                out.failures.append("the GPU collector failed (llmscope_collector_success 0)")
            uuid = s.labels.get("uuid")
            if uuid is None:
                continue
            found[(s.name, uuid)] = s.value
            low, high = RANGES.get(s.name, (None, None))
            if (low is not None and s.value < low) or (high is not None and s.value > high):
                out.failures.append(f"{s.name}{s.labels} = {s.value} outside [{low}, {high}]")
    for d in devices:
        missing = [name for name in REQUIRED if (name, d.uuid) not in found]
        if missing:
            out.failures.append(f"GPU {d.index}: missing {', '.join(missing)}")
        used = found.get(("llmscope_gpu_memory_used_bytes", d.uuid), 0.0)
        if used > found.get(("llmscope_gpu_memory_total_bytes", d.uuid), float("inf")):
            out.failures.append(f"GPU {d.index}: memory used exceeds memory total")
    return found


def _promtool(text: str, out: Outcome) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        out.notes.append("promtool not installed: exposition lint not run")
        return
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text.encode(), check=False, capture_output=True
    )
    findings = (done.stdout + done.stderr).decode().strip()
    if done.returncode != 0 or findings:
        out.failures.append(f"promtool check metrics: {findings or done.returncode}")


def _nvidia_smi(devices: tuple[Device, ...], found: Found, out: Outcome) -> None:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        out.notes.append("nvidia-smi not found: no cross-check")
        return
    query = "--query-gpu=uuid,memory.total,power.draw,temperature.gpu,clocks.sm"
    done = subprocess.run(
        [smi, query, "--format=csv,noheader,nounits"], check=False, capture_output=True, timeout=30
    )
    rows = [line.split(", ") for line in done.stdout.decode().strip().splitlines()]
    out.notes.append(f"nvidia-smi {query}: {rows}")
    smi_uuids = {row[0] for row in rows}
    if smi_uuids != {d.uuid for d in devices}:
        out.failures.append(f"UUIDs differ from nvidia-smi: {smi_uuids}")
    for row in rows:
        ours = found.get(("llmscope_gpu_memory_total_bytes", row[0]))
        theirs = float(row[1]) * 2**20
        if ours is not None and abs(ours - theirs) > 0.01 * theirs:
            out.failures.append(f"{row[0]}: memory total {ours} B, nvidia-smi {theirs} B")


def _load(seconds: float, out: Outcome) -> str | None:
    """Busy every GPU with matrix products for ``seconds``; the library used, or None."""
    for name in ("torch", "cupy"):
        try:
            module: Any = importlib.import_module(name)
        except ImportError:
            continue
        if name == "torch" and not module.cuda.is_available():
            continue
        _matmul_loop(name, module, seconds)
        out.notes.append(f"load: {seconds:.0f} s of matrix products with {name}")
        return name
    out.notes.append(
        "load could not be generated (neither torch nor cupy imports): the energy check "
        "ran on idle draw only"
    )
    time.sleep(seconds)
    return None


def _matmul_loop(name: str, module: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    if name == "torch":
        count = module.cuda.device_count()
        pairs = [
            module.randn(8192, 8192, device=f"cuda:{i}", dtype=module.float16) for i in range(count)
        ]
        while time.monotonic() < deadline:
            for matrix in pairs:
                _ = matrix @ matrix  # the work is the load; the product is thrown away
            module.cuda.synchronize()
        return
    count = module.cuda.runtime.getDeviceCount()
    matrices = []
    for i in range(count):
        with module.cuda.Device(i):
            matrices.append((i, module.random.rand(8192, 8192, dtype=module.float32)))
    while time.monotonic() < deadline:
        for i, matrix in matrices:
            with module.cuda.Device(i):
                _ = matrix @ matrix
                module.cuda.Stream.null.synchronize()


def main() -> int:
    outcome = run()
    if outcome.skipped:
        print(outcome.skipped)
        return 0
    for note in outcome.notes:
        print(f"note: {note}")
    for failure in outcome.failures:
        print(f"FAIL: {failure}")
    print("FAIL" if outcome.failures else "PASS: GPU collector checked on a real GPU")
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
