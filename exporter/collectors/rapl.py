"""CPU energy through Linux powercap/RAPL (``/sys/class/powercap/intel-rapl:*``).

Each RAPL zone has ``name`` (``package-0``, ``core``, ``dram``, ``psys``...), ``energy_uj``
(microjoules, wrapping to 0 after ``max_energy_range_uj``) and ``max_energy_range_uj``.
``Rapl`` keeps one running total per zone, adding each step since its previous reading and
correcting a step across the wrap, so the counter it serves only rises: the first reading
is the raw counter, later ones add what was used since. A gap between two readings longer
than one wrap (``max_energy_range_uj`` at the zone's power: tens of minutes for a package)
would lose whole turns; scrapes and probes read far more often.

The sysfs root is passed in, so tests hand in a temporary tree shaped like the real one.
Since Linux 5.10, ``energy_uj`` is readable by root only (a side channel, CVE-2020-8694):
docs/telemetry.md says how to open it to the exporter's user.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.metrics_core import CounterMetricFamily, Metric

POWERCAP = Path("/sys/class/powercap")
# intel-rapl:0 is a package (or psys), intel-rapl:0:1 one of its sub-zones. AMD CPUs show
# the same names through the same driver. intel-rapl-mmio:N repeats a package through
# another interface, so it is left out (it would count the package twice).
_ZONE_DIR = re.compile(r"intel-rapl:(\d+)(?::(\d+))?")
FAMILY = "llmscope_cpu_energy_joules"
HELP = (
    "CPU energy per RAPL zone (Linux powercap), wrap-around corrected; sub-zones "
    "(package-0/core, package-0/dram) are parts of their package or beside it."
)


@dataclass(frozen=True)
class Zone:
    """One RAPL zone: ``label`` is ``package-0`` or ``package-0/dram`` for a sub-zone."""

    label: str
    path: Path
    max_range_uj: int | None
    package: bool  # a top-level package zone: these sum to the CPU's energy


class Rapl:
    """The RAPL zones under ``root`` and their wrap-corrected running totals in joules."""

    def __init__(self, root: Path = POWERCAP) -> None:
        self.root = root
        self.zones: tuple[Zone, ...] = ()
        self.problem: str | None = None  # why nothing is readable, once ``open`` ran
        self._raw: dict[str, int] = {}
        self._total: dict[str, float] = {}
        self._lock = threading.Lock()  # scrapes and probes read from different threads

    def open(self) -> tuple[Zone, ...]:
        """Find the zones and take their first reading; () with ``problem`` set when none
        can be read."""
        if not self.root.is_dir():
            self.problem = f"no RAPL readable: {self.root} not present (not Linux, or no RAPL)"
            return ()
        try:
            zones = _discover(self.root)
        except OSError as err:
            self.problem = f"no RAPL readable: cannot list {self.root} ({err.strerror})"
            return ()
        if not zones:
            self.problem = f"no RAPL readable: no intel-rapl zone under {self.root}"
            return ()
        try:
            raw = {z.label: _read_int(z.path / "energy_uj") for z in zones}
        except OSError as err:
            self.problem = (
                f"no RAPL readable: {err.filename} is not readable "
                f"({err.strerror}; root, or a udev rule/chmod is needed: docs/telemetry.md)"
            )
            return ()
        self.zones = zones
        self._raw = raw
        self._total = {label: uj / 1e6 for label, uj in raw.items()}
        return zones

    def read_joules(self) -> dict[str, float]:
        """Every zone's running total now (an OSError propagates: the collector fails)."""
        with self._lock:
            for zone in self.zones:
                now = _read_int(zone.path / "energy_uj")
                step = now - self._raw[zone.label]
                if step < 0:  # wrapped past max_energy_range_uj (no range known: skip it)
                    step = step + zone.max_range_uj if zone.max_range_uj else 0
                self._raw[zone.label] = now
                self._total[zone.label] += step / 1e6
            return dict(self._total)

    def package_joules(self) -> float | None:
        """The packages' running totals summed: the CPU energy charged to probes."""
        if not self.zones:
            return None
        totals = self.read_joules()
        return sum(totals[z.label] for z in self.zones if z.package)


def _discover(root: Path) -> tuple[Zone, ...]:
    names: dict[str, str] = {}
    found: list[tuple[tuple[int, int], Zone]] = []
    entries = [(p, _ZONE_DIR.fullmatch(p.name)) for p in root.iterdir()]
    for path, match in sorted(entries, key=lambda e: e[0].name):
        if match is None or not (path / "energy_uj").exists():
            continue
        top, sub = int(match[1]), None if match[2] is None else int(match[2])
        name = _read_text(path / "name") or path.name
        if sub is None:
            names[match[1]] = name
        found.append(((top, -1 if sub is None else sub), _zone(path, name, sub is None)))
    zones = []
    for (top, sub), zone in sorted(found, key=lambda f: f[0]):
        if sub < 0:
            zones.append(zone)
        else:  # a sub-zone is named after its package: core, dram repeat per package
            parent = names.get(str(top), f"intel-rapl:{top}")
            zones.append(Zone(f"{parent}/{zone.label}", zone.path, zone.max_range_uj, False))
    return tuple(zones)


def _zone(path: Path, name: str, top: bool) -> Zone:
    try:
        max_range: int | None = _read_int(path / "max_energy_range_uj")
    except (OSError, ValueError):
        max_range = None  # no wrap correction: a backward step then counts nothing
    return Zone(name, path, max_range, top and name.startswith("package"))


def _read_int(path: Path) -> int:
    return int(path.read_text(encoding="ascii").strip())


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


class RaplCollector:
    """``llmscope_cpu_energy_joules_total{zone}``; a host without readable RAPL has none."""

    def __init__(self, rapl: Rapl) -> None:
        self._rapl = rapl

    def describe(self) -> Iterable[Metric]:
        return [CounterMetricFamily(FAMILY, HELP, labels=["zone"])]

    def collect(self) -> Iterable[Metric]:
        if not self._rapl.zones:
            return []
        family = CounterMetricFamily(FAMILY, HELP, labels=["zone"])
        for zone, joules in _in_zone_order(self._rapl.read_joules(), self._rapl.zones):
            family.add_metric([zone], joules)
        return [family]


def _in_zone_order(totals: Mapping[str, float], zones: Iterable[Zone]) -> list[tuple[str, float]]:
    return [(z.label, totals[z.label]) for z in zones]
