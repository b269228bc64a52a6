"""Host collector: CPU, load, memory, swap, network and disk from psutil, read at scrape time.

Counters stay counters (``rate()`` them in PromQL). The one derived value is
``llmscope_host_cpu_utilization_ratio``: the busy share of CPU time since the previous
scrape, computed from psutil's cumulative CPU times (busy = everything except idle and
iowait; guest time is already inside user and nice on Linux, so it is not added twice). The
first scrape covers the time since boot. With two Prometheus servers scraping, each sees the
share since whichever scrape came last; ``rate(llmscope_host_cpu_seconds_total[..])`` has
no such coupling.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import psutil
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

# node_exporter's default disk exclusion: RAM disks, loop devices, floppies, and partitions
# of whole disks that are already counted.
DEFAULT_DISK_EXCLUDE = re.compile(r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$")
_SYS_NET = "/sys/class/net"
_IDLE_MODES = frozenset({"idle", "iowait"})
_GUEST_MODES = frozenset({"guest", "guest_nice"})

_Family = GaugeMetricFamily | CounterMetricFamily


def is_virtual_interface(name: str) -> bool:
    """Loopback, bridges, veths, tunnels...: Linux puts them under /sys/devices/virtual.

    Where there is no sysfs (macOS, BSD), only loopback is recognised.
    """
    if os.path.isdir(_SYS_NET):
        return "/devices/virtual/" in os.path.realpath(os.path.join(_SYS_NET, name))
    return name in {"lo", "lo0"}


class _CpuShare:
    """Busy share of CPU time between two readings of cumulative CPU times."""

    def __init__(self) -> None:
        self._busy = 0.0
        self._total = 0.0
        self._ratio: float | None = None

    def update(self, times: Mapping[str, float]) -> float | None:
        total = sum(v for mode, v in times.items() if mode not in _GUEST_MODES)
        busy = total - sum(v for mode, v in times.items() if mode in _IDLE_MODES)
        d_total, d_busy = total - self._total, busy - self._busy
        self._busy, self._total = busy, total
        if d_total > 0:  # two scrapes within one clock tick keep the previous ratio
            self._ratio = min(1.0, max(0.0, d_busy / d_total))
        return self._ratio


class HostCollector:
    """psutil readings as ``llmscope_host_*`` families; ``source`` is the psutil module."""

    def __init__(
        self,
        source: Any = psutil,
        *,
        per_cpu: bool = False,
        include_virtual: bool = False,
        is_virtual: Callable[[str], bool] = is_virtual_interface,
        disk_exclude: re.Pattern[str] | None = DEFAULT_DISK_EXCLUDE,
    ) -> None:
        self._ps = source
        self._per_cpu = per_cpu
        self._include_virtual = include_virtual
        self._is_virtual = is_virtual
        self._virtual: dict[str, bool] = {}
        self._disk_exclude = disk_exclude
        self._lock = threading.Lock()  # concurrent scrapes share the CPU baselines
        self._cpu = _CpuShare()
        self._cores: list[_CpuShare] = []

    def describe(self) -> Iterable[Metric]:
        return list(self._families().values())

    def collect(self) -> Iterable[Metric]:
        f = self._families()
        self._cpu_metrics(f)
        load1, load5, load15 = self._ps.getloadavg()
        f["load1"].add_metric([], load1)
        f["load5"].add_metric([], load5)
        f["load15"].add_metric([], load15)
        self._memory(f)
        self._network(f)
        self._disks(f)
        return [family for family in f.values() if family.samples]

    def _families(self) -> dict[str, _Family]:
        f: dict[str, _Family] = {}

        def gauge(short: str, help_text: str, labels: Iterable[str] = ()) -> None:
            name = f"llmscope_host_{short}"
            f[short] = GaugeMetricFamily(name, help_text, labels=list(labels))

        def counter(short: str, help_text: str, labels: Iterable[str] = ()) -> None:
            name = f"llmscope_host_{short}"
            f[short] = CounterMetricFamily(name, help_text, labels=list(labels))

        counter("cpu_seconds", "CPU time spent in each mode, summed over all CPUs.", ["mode"])
        gauge("cpu_utilization_ratio", "Busy share of all CPUs since the previous scrape.")
        if self._per_cpu:
            gauge(
                "cpu_core_utilization_ratio",
                "Busy share of each logical CPU since the previous scrape.",
                ["cpu"],
            )
        gauge("cpu_logical_cores", "Logical CPUs (to read the load averages against).")
        for minutes in (1, 5, 15):
            gauge(f"load{minutes}", f"{minutes}-minute load average.")
        gauge("memory_total_bytes", "Physical memory installed.")
        gauge("memory_available_bytes", "Memory available to new processes without swapping.")
        gauge("memory_used_bytes", "Memory in use, as psutil computes it for this platform.")
        gauge("swap_total_bytes", "Swap space configured.")
        gauge("swap_used_bytes", "Swap space in use.")
        counter("swap_in_bytes", "Bytes swapped in from disk since boot.")
        counter("swap_out_bytes", "Bytes swapped out to disk since boot.")
        dev = ["device"]
        counter("network_receive_bytes", "Bytes received per interface.", dev)
        counter("network_transmit_bytes", "Bytes sent per interface.", dev)
        counter("network_receive_errors", "Receive errors per interface.", dev)
        counter("network_transmit_errors", "Transmit errors per interface.", dev)
        counter("disk_read_bytes", "Bytes read per disk.", dev)
        counter("disk_written_bytes", "Bytes written per disk.", dev)
        counter("disk_reads_completed", "Reads completed per disk.", dev)
        counter("disk_writes_completed", "Writes completed per disk.", dev)
        counter("disk_io_time_seconds", "Time the disk was busy with I/O (Linux, BSD).", dev)
        return f

    def _cpu_metrics(self, f: Mapping[str, _Family]) -> None:
        times = _fields(self._ps.cpu_times())
        per_core = [_fields(t) for t in self._ps.cpu_times(percpu=True)] if self._per_cpu else []
        with self._lock:
            ratio = self._cpu.update(times)
            if len(self._cores) != len(per_core):  # first scrape, or CPUs hot-plugged
                self._cores = [_CpuShare() for _ in per_core]
            core_ratios = [share.update(t) for share, t in zip(self._cores, per_core, strict=True)]
        for mode, seconds in times.items():
            f["cpu_seconds"].add_metric([mode], seconds)
        if ratio is not None:
            f["cpu_utilization_ratio"].add_metric([], ratio)
        for cpu, core_ratio in enumerate(core_ratios):
            if core_ratio is not None:
                f["cpu_core_utilization_ratio"].add_metric([str(cpu)], core_ratio)
        cores = self._ps.cpu_count(logical=True)
        if cores:  # psutil returns None when the platform cannot tell
            f["cpu_logical_cores"].add_metric([], cores)

    def _memory(self, f: Mapping[str, _Family]) -> None:
        mem = self._ps.virtual_memory()
        f["memory_total_bytes"].add_metric([], mem.total)
        f["memory_available_bytes"].add_metric([], mem.available)
        f["memory_used_bytes"].add_metric([], mem.used)
        swap = self._ps.swap_memory()
        f["swap_total_bytes"].add_metric([], swap.total)
        f["swap_used_bytes"].add_metric([], swap.used)
        f["swap_in_bytes"].add_metric([], swap.sin)
        f["swap_out_bytes"].add_metric([], swap.sout)

    def _network(self, f: Mapping[str, _Family]) -> None:
        for device, io in sorted((self._ps.net_io_counters(pernic=True) or {}).items()):
            if not self._include_virtual and self._virtual_cached(device):
                continue
            f["network_receive_bytes"].add_metric([device], io.bytes_recv)
            f["network_transmit_bytes"].add_metric([device], io.bytes_sent)
            f["network_receive_errors"].add_metric([device], io.errin)
            f["network_transmit_errors"].add_metric([device], io.errout)

    def _virtual_cached(self, device: str) -> bool:
        # One sysfs lookup per interface name for the life of the process.
        known = self._virtual.get(device)
        if known is None:
            known = self._virtual[device] = self._is_virtual(device)
        return known

    def _disks(self, f: Mapping[str, _Family]) -> None:
        # psutil returns None or {} on hosts without block devices (some containers).
        for device, io in sorted((self._ps.disk_io_counters(perdisk=True) or {}).items()):
            if self._disk_exclude is not None and self._disk_exclude.match(device):
                continue
            f["disk_read_bytes"].add_metric([device], io.read_bytes)
            f["disk_written_bytes"].add_metric([device], io.write_bytes)
            f["disk_reads_completed"].add_metric([device], io.read_count)
            f["disk_writes_completed"].add_metric([device], io.write_count)
            busy_ms = getattr(io, "busy_time", None)
            if busy_ms is not None:
                f["disk_io_time_seconds"].add_metric([device], busy_ms / 1000.0)


def _fields(times: Any) -> dict[str, float]:
    """A psutil named tuple of CPU times as {mode: seconds}."""
    return {mode: float(value) for mode, value in times._asdict().items()}
