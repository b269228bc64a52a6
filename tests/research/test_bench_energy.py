"""Energy per probe in bench sessions: which targets are charged, how overlapping probes share
a counter, and a bench against a local server with a RAPL tree whose counter wraps."""

from __future__ import annotations

import csv
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporter.bench.energy import SIMULATED, EnergyLedger, TargetEnergy, local_host, plan
from exporter.collectors.energy import EnergyMeter
from exporter.collectors.nvml import Nvml
from exporter.collectors.rapl import Rapl
from exporter.config.types import TargetConfig
from testkit.fake_nvml import FakeNvml, two_gpus
from testkit.fake_powercap import FakeZone, set_energy, two_packages, write_powercap
from testkit.fakeserver import serving_in_thread
from testkit.openai_fake import always, stream_script
from tests.research.support import exporter

LOCAL = TargetConfig(name="local", provider="ollama", model="m", base_url="http://127.0.0.1:1")
REMOTE = TargetConfig(name="remote", provider="openai", model="m", base_url="https://api.x.com")
SIM = TargetConfig(name="sim", provider="simulated", model="m")
ON_GPU = TargetConfig(
    name="gpu", provider="ollama", model="m", base_url="http://localhost:11434", gpu="0"
)


def rapl_at(root: Path) -> Rapl:
    rapl = Rapl(write_powercap(root, two_packages()))
    rapl.open()
    return rapl


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:11434", "127.0.0.1"),
        ("http://localhost:8000/v1", "localhost"),
        ("http://[::1]:8000", "::1"),
        ("https://api.openai.com/v1", None),
        ("http://10.0.0.5:11434", None),
    ],
)
def test_a_local_target_is_one_on_a_loopback_address(url: str, local: str | None) -> None:
    assert local_host(url) == local


def test_each_target_is_charged_what_it_runs_on_or_says_why_not(tmp_path: Path) -> None:
    rapl = rapl_at(tmp_path / "powercap")
    nvml = Nvml(FakeNvml(two_gpus()))
    meter = EnergyMeter(nvml, nvml.open())
    plans = plan([LOCAL, REMOTE, SIM, ON_GPU], rapl, meter, "")
    assert plans == {
        "local": TargetEnergy(("cpu",), None),
        "remote": TargetEnergy(
            (), "remote target (api.x.com): its hardware is not on this machine"
        ),
        "sim": TargetEnergy((), SIMULATED),
        "gpu": TargetEnergy(("gpu", "cpu"), None),
    }
    absent = Rapl(tmp_path / "absent")
    absent.open()
    no_gpu = "no GPU monitored: NVML found no driver or GPU"
    plans = plan([LOCAL, ON_GPU], absent, None, no_gpu)
    assert plans["local"] == TargetEnergy((), absent.problem)
    assert plans["gpu"] == TargetEnergy((), f"gpu 0: {no_gpu}; {absent.problem}")


def test_overlapping_probes_share_each_step_and_the_shares_add_up(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    rapl = rapl_at(root)
    nvml_gpus = two_gpus()
    nvml = Nvml(FakeNvml(nvml_gpus))
    meter = EnergyMeter(nvml, nvml.open())
    targets = [LOCAL, ON_GPU, REMOTE]
    ledger = EnergyLedger(targets, plan(targets, rapl, meter, ""), rapl, meter)
    uj = {"intel-rapl:0": 1_000_000_000, "intel-rapl:1": 2_000_000_000}

    def burn(joules: float) -> None:  # package 0 only; package 1 stays idle
        uj["intel-rapl:0"] += int(joules * 1e6)
        set_energy(root, "intel-rapl:0", uj["intel-rapl:0"])

    ledger.start(1, "local")
    burn(10)  # local alone: 10 J
    ledger.start(2, "gpu")
    burn(6)  # both on the CPU: 3 J each
    nvml_gpus[0].energy_mj += 4_000  # 4 J on GPU 0, only "gpu" uses it
    ledger.start(3, "remote")  # charged nothing, and takes no share
    burn(2)
    remote = ledger.end(3)
    first = ledger.end(1)
    burn(5)  # gpu alone again
    second = ledger.end(2)
    assert (remote.cpu_joules, remote.gpu_joules) == (None, None)
    assert first.cpu_joules == pytest.approx(10 + 3 + 1)
    assert first.gpu_joules is None
    assert second.cpu_joules == pytest.approx(3 + 1 + 5)
    assert second.gpu_joules == pytest.approx(4.0)
    assert (first.cpu_joules or 0) + (second.cpu_joules or 0) == pytest.approx(10 + 6 + 2 + 5)


class Burner:
    """Raises package-0's counter at 100 W in a thread, wrapping at a small range, and
    keeps the unwrapped total; each write is atomic (a reader never sees half a number)."""

    RANGE_UJ = 30_000_000  # 30 J: the counter wraps every 0.3 s at 100 W

    def __init__(self, root: Path) -> None:
        self.root = root
        self.total_uj = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        folder = self.root / "intel-rapl:0"
        while not self._stop.wait(0.002):
            self.total_uj += 200_000
            tmp = folder / "energy_uj.tmp"
            tmp.write_text(f"{self.total_uj % self.RANGE_UJ}\n")
            os.replace(tmp, folder / "energy_uj")

    def __enter__(self) -> Burner:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def burning(tmp_path: Path) -> Iterator[Burner]:
    root = write_powercap(
        tmp_path / "powercap", [FakeZone("intel-rapl:0", "package-0", 0, Burner.RANGE_UJ)]
    )
    with Burner(root) as burner:
        yield burner


def test_a_bench_of_a_local_server_records_cpu_energy_across_wraps(
    tmp_path: Path, burning: Burner
) -> None:
    script = stream_script(["1", " 2", " 3"], ttft=0.05, gap=0.01, usage=(12, 5))
    with serving_in_thread(always(script)) as server:
        config = tmp_path / "local.yml"
        config.write_text(
            "targets:\n  - name: local\n    provider: openai\n    model: m\n"
            f"    base_url: {server.url}/v1\n"
        )
        out = tmp_path / "s"
        before = burning.total_uj
        result = exporter(
            "bench",
            "--config.file",
            str(config),
            "--probes",
            "8",
            "--concurrency",
            "2",
            "--powercap",
            str(burning.root),
            "--carbon-intensity",
            "400",
            "--out",
            str(out),
        )
        burned = (burning.total_uj - before) / 1e6
    assert result.returncode == 0, result.stderr
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["format"] == 2
    assert meta["energy"]["targets"] == {"local": {"sources": ["cpu"], "not_measured": None}}
    assert meta["energy"]["carbon_intensity_g_per_kwh"] == 400
    with (out / "probes.csv").open() as f:
        probes = list(csv.DictReader(f))
    joules = [float(p["cpu_energy_joules"]) for p in probes]
    assert all(p["gpu_energy_joules"] == "" for p in probes)
    # Every probe burned something; the shares never add up to more than the counter rose
    # during the run, which outlasted several wraps.
    assert min(joules) > 0
    assert sum(joules) <= burned + 1e-6
    assert burned > 3 * Burner.RANGE_UJ / 1e6
    target = json.loads((out / "summary.json").read_text())["targets"]["local"]["energy"]
    assert target["measured"] is True and target["probes"] == 8
    wh = target["wh_per_1000_output_tokens_median"]["value"]
    grams = target["g_co2e_per_1000_output_tokens_median"]["value"]
    assert grams == pytest.approx(wh * 400 / 1000)
    assert "Wh/1k output tokens" in result.stdout


def test_a_bench_of_simulated_targets_says_energy_is_not_measured(tmp_path: Path) -> None:
    out = tmp_path / "s"
    result = exporter("bench", "--probes", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    for target in ("simulated-small", "simulated-large"):
        assert f"{target}: energy not measured: {SIMULATED}" in result.stdout
        entry = json.loads((out / "summary.json").read_text())["targets"][target]["energy"]
        assert entry == {"measured": False, "why": f"not measured: {SIMULATED}"}


def test_a_bad_carbon_intensity_is_one_line(tmp_path: Path) -> None:
    result = exporter("bench", "--carbon-intensity", "-5", "--out", str(tmp_path / "s"))
    assert result.returncode == 2
    assert "--carbon-intensity: must be above 0 and below 10000 gCO2e/kWh" in result.stderr
