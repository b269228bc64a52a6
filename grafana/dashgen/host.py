"""Host & GPU sections about the host: collector health, CPU and memory, network and disks."""

from __future__ import annotations

from grafana.dashgen.layout import Grid, row
from grafana.dashgen.panels import OK_FAILED, Query, Style, stat, state_timeline, timeseries
from grafana.dashgen.promql import INST, RATE

CPU = "llmscope_host_cpu_seconds_total"


def collectors(grid: Grid) -> None:
    grid.row(row("Collectors"))
    grid.add(
        state_timeline(
            "Collector health",
            "Whether each collector succeeded in the scrape (llmscope_collector_success). "
            "A host without a GPU reads ok: no GPU is not a failure.",
            [
                Query(
                    f"max by (instance, collector) (llmscope_collector_success{{{INST}}})",
                    "{{instance}} {{collector}}",
                )
            ],
            OK_FAILED,
        ),
        12,
        6,
    )
    grid.add(
        timeseries(
            "Collector duration",
            "Time each collector took in the scrape.",
            [
                Query(
                    f"max by (instance, collector) (llmscope_collector_duration_seconds{{{INST}}})",
                    "{{instance}} {{collector}}",
                )
            ],
            "s",
        ),
        12,
        6,
    )


def cpu_memory(grid: Grid) -> None:
    grid.row(row("CPU and memory"))
    grid.add(
        timeseries(
            "CPU utilization",
            "Busy share of all CPUs from the CPU-time counters: 1 - (idle + iowait) / total. "
            "Guest time is left out of the total, Linux already counts it in user.",
            [
                Query(
                    f'1 - sum by (instance) (rate({CPU}{{{INST}, mode=~"idle|iowait"}}{RATE})) / '
                    f'sum by (instance) (rate({CPU}{{{INST}, mode!~"guest|guest_nice"}}{RATE}))',
                    "{{instance}}",
                )
            ],
            "percentunit",
            min_value=0,
            max_value=1,
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "CPU by mode",
            "Share of all CPUs in each busy mode (user, system, iowait, steal, ...).",
            [
                Query(
                    f'sum by (instance, mode) (rate({CPU}{{{INST}, mode!~"idle|guest|guest_nice"}}'
                    f"{RATE})) / on (instance) group_left () "
                    f"max by (instance) (llmscope_host_cpu_logical_cores{{{INST}}})",
                    "{{instance}} {{mode}}",
                )
            ],
            "percentunit",
            min_value=0,
            stack=True,
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Load average per CPU",
            "Load averages over 1, 5 and 15 minutes divided by the logical CPUs: above 1 "
            "means runnable work waits for a CPU.",
            [
                Query(
                    f"max by (instance) (llmscope_host_{load}{{{INST}}}) / "
                    f"max by (instance) (llmscope_host_cpu_logical_cores{{{INST}}})",
                    f"{{{{instance}}}} {load}",
                )
                for load in ("load1", "load5", "load15")
            ],
            "short",
            min_value=0,
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Memory",
            "Physical memory: used (as psutil computes it for the platform), available, total.",
            [
                Query(f"llmscope_host_memory_{kind}_bytes{{{INST}}}", f"{{{{instance}}}} {kind}")
                for kind in ("used", "available", "total")
            ],
            "bytes",
            min_value=0,
            styles=[Style("C", dashed=True)],
        ),
        8,
        8,
    )
    grid.add(
        stat(
            "Memory in use",
            "1 - available / total: the share of memory not available to new work.",
            [
                Query(
                    f"1 - llmscope_host_memory_available_bytes{{{INST}}} / "
                    f"llmscope_host_memory_total_bytes{{{INST}}}",
                    "{{instance}}",
                )
            ],
            "percentunit",
            graph=True,
        ),
        4,
        8,
    )
    grid.add(
        stat(
            "CPU now",
            "Busy share of all CPUs since the previous scrape "
            "(llmscope_host_cpu_utilization_ratio).",
            [Query(f"llmscope_host_cpu_utilization_ratio{{{INST}}}", "{{instance}}")],
            "percentunit",
            graph=True,
        ),
        4,
        8,
    )
    grid.add(
        timeseries(
            "Swap",
            "Swap in use and in total, and bytes swapped in and out per second. Steady "
            "swapping slows local model servers down.",
            [
                Query(f"llmscope_host_swap_used_bytes{{{INST}}}", "{{instance}} used"),
                Query(f"llmscope_host_swap_total_bytes{{{INST}}}", "{{instance}} total"),
                Query(
                    f"rate(llmscope_host_swap_in_bytes_total{{{INST}}}{RATE})",
                    "{{instance}} in/s",
                ),
                Query(
                    f"rate(llmscope_host_swap_out_bytes_total{{{INST}}}{RATE})",
                    "{{instance}} out/s",
                ),
            ],
            "bytes",
            min_value=0,
        ),
        8,
        8,
    )


def network_disk(grid: Grid) -> None:
    grid.row(row("Network and disks"))
    net = "llmscope_host_network"
    grid.add(
        timeseries(
            "Network throughput",
            "Bytes per second received and sent on physical interfaces (loopback and "
            "virtual interfaces are left out).",
            [
                Query(
                    f"rate({net}_{way}_bytes_total{{{INST}}}{RATE})",
                    f"{{{{instance}}}} {{{{device}}}} {way}",
                )
                for way in ("receive", "transmit")
            ],
            "Bps",
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Network errors",
            "Receive and transmit errors per second, per interface.",
            [
                Query(
                    f"rate({net}_{way}_errors_total{{{INST}}}{RATE})",
                    f"{{{{instance}}}} {{{{device}}}} {way}",
                )
                for way in ("receive", "transmit")
            ],
            "cps",
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Disk busy",
            "Share of time each disk was busy with I/O (Linux and BSD).",
            [
                Query(
                    f"rate(llmscope_host_disk_io_time_seconds_total{{{INST}}}{RATE})",
                    "{{instance}} {{device}}",
                )
            ],
            "percentunit",
            min_value=0,
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Disk throughput",
            "Bytes read and written per second, per whole disk (partitions are not counted twice).",
            [
                Query(
                    f"rate(llmscope_host_disk_{kind}_bytes_total{{{INST}}}{RATE})",
                    f"{{{{instance}}}} {{{{device}}}} {kind}",
                )
                for kind in ("read", "written")
            ],
            "Bps",
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Disk operations",
            "Reads and writes completed per second, per disk.",
            [
                Query(
                    f"rate(llmscope_host_disk_{kind}_completed_total{{{INST}}}{RATE})",
                    f"{{{{instance}}}} {{{{device}}}} {kind}",
                )
                for kind in ("reads", "writes")
            ],
            "iops",
        ),
        12,
        8,
    )
