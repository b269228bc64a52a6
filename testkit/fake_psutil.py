"""A fake psutil module with the readings the host collector asks for, all settable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


class CpuTimes(NamedTuple):
    """Linux's fields, in psutil's order."""

    user: float = 0.0
    nice: float = 0.0
    system: float = 0.0
    idle: float = 0.0
    iowait: float = 0.0
    irq: float = 0.0
    softirq: float = 0.0
    steal: float = 0.0
    guest: float = 0.0
    guest_nice: float = 0.0


class Memory(NamedTuple):
    total: int
    available: int
    used: int


class Swap(NamedTuple):
    total: int
    used: int
    sin: int
    sout: int


class NetIO(NamedTuple):
    bytes_sent: int
    bytes_recv: int
    errin: int
    errout: int


class DiskIO(NamedTuple):
    read_count: int
    write_count: int
    read_bytes: int
    write_bytes: int
    busy_time: int


@dataclass
class FakePsutil:
    times: Any = field(default_factory=lambda: CpuTimes(user=100.0, system=50.0, idle=850.0))
    cores: list[Any] = field(
        default_factory=lambda: [
            CpuTimes(user=60.0, system=30.0, idle=410.0),
            CpuTimes(user=40.0, system=20.0, idle=440.0),
        ]
    )
    load: tuple[float, float, float] = (0.5, 0.25, 0.125)
    memory: Memory = field(default_factory=lambda: Memory(16 << 30, 12 << 30, 3 << 30))
    swap: Swap = field(default_factory=lambda: Swap(2 << 30, 1 << 20, sin=4096, sout=8192))
    nics: dict[str, Any] | None = field(
        default_factory=lambda: {
            "eth0": NetIO(bytes_sent=2000, bytes_recv=5000, errin=1, errout=2),
            "lo": NetIO(bytes_sent=700, bytes_recv=700, errin=0, errout=0),
            "docker0": NetIO(bytes_sent=30, bytes_recv=40, errin=0, errout=0),
        }
    )
    disks: dict[str, Any] | None = field(
        default_factory=lambda: {
            "nvme0n1": DiskIO(10, 20, 4096, 8192, 1500),
            "nvme0n1p1": DiskIO(5, 10, 2048, 4096, 700),
            "loop0": DiskIO(1, 0, 512, 0, 0),
            "sda": DiskIO(3, 4, 1024, 2048, 250),
        }
    )

    def cpu_times(self, percpu: bool = False) -> Any:
        return list(self.cores) if percpu else self.times

    def cpu_count(self, logical: bool = True) -> int:
        return len(self.cores)

    def getloadavg(self) -> tuple[float, float, float]:
        return self.load

    def virtual_memory(self) -> Memory:
        return self.memory

    def swap_memory(self) -> Swap:
        return self.swap

    def net_io_counters(self, pernic: bool = False) -> dict[str, Any] | None:
        assert pernic
        return self.nics

    def disk_io_counters(self, perdisk: bool = False) -> dict[str, Any] | None:
        assert perdisk
        return self.disks


VIRTUAL = frozenset({"lo", "docker0"})


def fake_is_virtual(name: str) -> bool:
    return name in VIRTUAL
