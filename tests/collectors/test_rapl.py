"""CPU energy through powercap/RAPL, read from a temporary tree shaped like the real sysfs."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter.collectors import register
from exporter.collectors.rapl import Rapl, RaplCollector
from exporter.config.types import CollectorsConfig
from testkit.fake_powercap import MAX_RANGE_UJ, FakeZone, set_energy, two_packages, write_powercap
from tests.collectors.exposition import promtool_findings, render, samples, types, value

FAMILY = "llmscope_cpu_energy_joules_total"


def opened(root: Path, zones: list[FakeZone] | None = None) -> Rapl:
    rapl = Rapl(write_powercap(root, two_packages() if zones is None else zones))
    assert rapl.open()
    return rapl


def test_zones_are_the_packages_and_their_named_sub_zones(tmp_path: Path) -> None:
    rapl = opened(tmp_path / "powercap")
    assert [z.label for z in rapl.zones] == [
        "package-0",
        "package-0/core",
        "package-0/dram",
        "package-1",
        "package-1/core",
        "package-1/dram",
    ]  # neither the control type folder nor the MMIO copy of package-0
    assert [z.label for z in rapl.zones if z.package] == ["package-0", "package-1"]
    assert rapl.problem is None


def test_the_counter_starts_at_the_raw_reading_and_adds_each_step(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    rapl = opened(root)
    assert rapl.read_joules()["package-0"] == pytest.approx(1000.0)
    set_energy(root, "intel-rapl:0", 1_000_000_000 + 2_500_000)
    assert rapl.read_joules()["package-0"] == pytest.approx(1002.5)
    assert rapl.package_joules() == pytest.approx(1002.5 + 2000.0)


def test_a_step_across_the_wrap_adds_the_range(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    near_end = MAX_RANGE_UJ - 1_000_000  # 1 J before the counter falls back to 0
    rapl = opened(root, [FakeZone("intel-rapl:0", "package-0", near_end)])
    start = rapl.read_joules()["package-0"]
    set_energy(root, "intel-rapl:0", 3_000_000)  # 1 J to the wrap, then 3 J after it
    assert rapl.read_joules()["package-0"] - start == pytest.approx(4.0)
    set_energy(root, "intel-rapl:0", 5_000_000)
    assert rapl.read_joules()["package-0"] - start == pytest.approx(6.0)


def test_without_a_known_range_a_backward_step_adds_nothing(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    write_powercap(root, [FakeZone("intel-rapl:0", "package-0", 9_000_000)])
    (root / "intel-rapl:0" / "max_energy_range_uj").unlink()
    rapl = Rapl(root)
    rapl.open()
    set_energy(root, "intel-rapl:0", 1_000_000)
    assert rapl.read_joules()["package-0"] == pytest.approx(9.0)


def test_the_exposition_has_a_zone_label_and_passes_promtool(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    text = render(RaplCollector(opened(root)))
    found = samples(text)
    assert types(text)["llmscope_cpu_energy_joules"] == "counter"
    assert value(found, FAMILY, zone="package-1") == pytest.approx(2000.0)
    assert value(found, FAMILY, zone="package-0/dram") == pytest.approx(50.0)
    assert promtool_findings(text) == ""


def test_a_missing_powercap_gives_no_series_and_says_why(tmp_path: Path) -> None:
    rapl = Rapl(tmp_path / "absent")
    assert rapl.open() == ()
    assert (
        rapl.problem
        == f"no RAPL readable: {tmp_path / 'absent'} not present (not Linux, or no RAPL)"
    )
    assert rapl.package_joules() is None
    assert render(RaplCollector(rapl)) == ""


def test_an_empty_powercap_says_so(tmp_path: Path) -> None:
    (tmp_path / "powercap").mkdir()
    rapl = Rapl(tmp_path / "powercap")
    assert rapl.open() == ()
    assert rapl.problem == f"no RAPL readable: no intel-rapl zone under {tmp_path / 'powercap'}"


def test_an_unreadable_counter_names_the_file_and_the_fix(tmp_path: Path) -> None:
    # The tests run as root, who reads a mode-000 file: a folder in the counter's place
    # fails the same read with another OSError, and takes the same path.
    root = write_powercap(tmp_path / "powercap", two_packages())
    counter = root / "intel-rapl:1" / "energy_uj"
    counter.unlink()
    counter.mkdir()
    rapl = Rapl(root)
    assert rapl.open() == ()
    assert rapl.problem == (
        f"no RAPL readable: {counter} is not readable "
        "(Is a directory; root, or a udev rule/chmod is needed: docs/telemetry.md)"
    )


def test_register_serves_the_cpu_energy_beside_its_health(tmp_path: Path) -> None:
    root = write_powercap(tmp_path / "powercap", two_packages())
    registry = CollectorRegistry()
    handle = register(registry, CollectorsConfig(host=False, gpu=False), powercap=root)
    try:
        found = samples(generate_latest(registry).decode())
        assert value(found, FAMILY, zone="package-0") == pytest.approx(1000.0)
        assert value(found, "llmscope_collector_success", collector="rapl") == 1.0
    finally:
        handle.stop()
    off = CollectorRegistry()
    register(off, CollectorsConfig(host=False, gpu=False, rapl=False), powercap=root).stop()
    assert FAMILY not in generate_latest(off).decode()
