"""A temporary tree shaped like Linux's /sys/class/powercap, for the RAPL collector.

The kernel lists every zone flat in /sys/class/powercap (``intel-rapl:0``, its sub-zones
``intel-rapl:0:0``...), each a folder holding ``name``, ``energy_uj`` and
``max_energy_range_uj``; ``intel-rapl`` itself is the control type, without a counter, and
``intel-rapl-mmio:0`` repeats a package through another interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# A typical package range (about 262 kJ): energy_uj falls back to 0 past it.
MAX_RANGE_UJ = 262_143_328_850


@dataclass(frozen=True)
class FakeZone:
    folder: str  # intel-rapl:0, intel-rapl:0:1
    name: str  # package-0, dram
    energy_uj: int
    max_range_uj: int = MAX_RANGE_UJ


def two_packages() -> list[FakeZone]:
    """A two-socket server: two packages, each with core and dram sub-zones."""
    return [
        FakeZone("intel-rapl:0", "package-0", 1_000_000_000),
        FakeZone("intel-rapl:0:0", "core", 600_000_000),
        FakeZone("intel-rapl:0:1", "dram", 50_000_000),
        FakeZone("intel-rapl:1", "package-1", 2_000_000_000),
        FakeZone("intel-rapl:1:0", "core", 1_200_000_000),
        FakeZone("intel-rapl:1:1", "dram", 70_000_000),
    ]


def write_powercap(root: Path, zones: list[FakeZone]) -> Path:
    """The tree under ``root`` (created), with the control-type and MMIO folders too."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "intel-rapl").mkdir(exist_ok=True)
    (root / "intel-rapl" / "enabled").write_text("1\n")
    mmio = root / "intel-rapl-mmio:0"
    mmio.mkdir(exist_ok=True)
    (mmio / "name").write_text("package-0\n")
    (mmio / "energy_uj").write_text("5\n")
    for zone in zones:
        folder = root / zone.folder
        folder.mkdir(exist_ok=True)
        (folder / "name").write_text(zone.name + "\n")
        (folder / "max_energy_range_uj").write_text(f"{zone.max_range_uj}\n")
        set_energy(root, zone.folder, zone.energy_uj)
    return root


def set_energy(root: Path, folder: str, energy_uj: int) -> None:
    (root / folder / "energy_uj").write_text(f"{energy_uj}\n")
