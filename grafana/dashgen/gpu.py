"""Host & GPU sections about NVIDIA GPUs (read through NVML) and energy per token."""

from __future__ import annotations

from grafana.dashgen.layout import Grid, row
from grafana.dashgen.panels import Query, Style, stat, state_timeline, timeseries, value_map
from grafana.dashgen.promql import INST, RATE, T

GPU = "{{instance}} GPU{{index}} {{name}}"


def gpu(grid: Grid) -> None:
    grid.row(row("GPU"))
    grid.add(
        timeseries(
            "GPU temperature and peak",
            "Temperature at the scrape, and the highest and mean temperature the 0.5 s sampler "
            "saw since the previous scrape (so short peaks between scrapes are not lost).",
            [
                Query(f"llmscope_gpu_temperature_celsius{{{INST}}}", GPU),
                Query(f"llmscope_gpu_temperature_max_celsius{{{INST}}}", f"{GPU} peak"),
                Query(f"llmscope_gpu_temperature_mean_celsius{{{INST}}}", f"{GPU} mean"),
            ],
            "celsius",
            styles=[Style("B", dashed=True)],
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "GPU power, peak and limit",
            "Power at the scrape, the sampled peak and mean since the previous scrape, and "
            "the enforced power limit (dashed red).",
            [
                Query(f"llmscope_gpu_power_watts{{{INST}}}", GPU),
                Query(f"llmscope_gpu_power_max_watts{{{INST}}}", f"{GPU} peak"),
                Query(f"llmscope_gpu_power_limit_watts{{{INST}}}", f"{GPU} limit"),
                Query(f"llmscope_gpu_power_mean_watts{{{INST}}}", f"{GPU} mean"),
            ],
            "watt",
            min_value=0,
            styles=[Style("C", dashed=True, color="red")],
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "GPU mean power from the energy counter",
            "Mean power over the rate interval from NVML's total energy counter: exact "
            "whatever the sampling (Volta and newer).",
            [Query(f"rate(llmscope_gpu_energy_joules_total{{{INST}}}{RATE})", GPU)],
            "watt",
            min_value=0,
        ),
        8,
        8,
    )
    grid.add(
        stat(
            "GPU energy in the time range",
            "Energy each GPU used during the dashboard's time range.",
            [
                Query(
                    f"increase(llmscope_gpu_energy_joules_total{{{INST}}}[$__range])",
                    GPU,
                    instant=True,
                )
            ],
            "joule",
        ),
        4,
        8,
    )
    for title, metric, unit in (
        ("Peak power in the time range", "llmscope_gpu_power_max_watts", "watt"),
        ("Peak temperature in the time range", "llmscope_gpu_temperature_max_celsius", "celsius"),
    ):
        grid.add(
            stat(
                title,
                "Highest sampled value during the dashboard's time range.",
                [Query(f"max_over_time({metric}{{{INST}}}[$__range])", GPU, instant=True)],
                unit,
            ),
            6,
            8,
        )
    grid.add(
        timeseries(
            "GPU utilization",
            "Share of time a kernel ran (utilization) and device memory was read or written "
            "(memory activity).",
            [
                Query(f"llmscope_gpu_utilization_ratio{{{INST}}}", GPU),
                Query(f"llmscope_gpu_memory_utilization_ratio{{{INST}}}", f"{GPU} memory activity"),
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
            "GPU memory",
            "Device memory used and total.",
            [
                Query(f"llmscope_gpu_memory_used_bytes{{{INST}}}", f"{GPU} used"),
                Query(f"llmscope_gpu_memory_total_bytes{{{INST}}}", f"{GPU} total"),
            ],
            "bytes",
            min_value=0,
            styles=[Style("B", dashed=True)],
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "GPU clocks",
            "SM and memory clocks.",
            [
                Query(f"llmscope_gpu_sm_clock_hertz{{{INST}}}", f"{GPU} SM"),
                Query(f"llmscope_gpu_memory_clock_hertz{{{INST}}}", f"{GPU} memory"),
            ],
            "hertz",
        ),
        8,
        8,
    )
    grid.add(
        state_timeline(
            "Clock slowdowns",
            "Why the clocks are held down (NVML clock event reasons): power cap, thermal or "
            "hardware slowdown, ... gpu_idle is left out.",
            [
                Query(
                    "max by (instance, index, reason) "
                    f'(llmscope_gpu_clocks_event_reason{{{INST}, reason!="gpu_idle"}})',
                    "{{instance}} GPU{{index}} {{reason}}",
                )
            ],
            value_map({0: ("no", "green"), 1: ("active", "orange")}),
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Fan speed",
            "Fan speed per fan, as a share of the maximum (it may pass 100% slightly). "
            "Data-centre cards have no fans NVML reports.",
            [Query(f"llmscope_gpu_fan_speed_ratio{{{INST}}}", f"{GPU} fan {{{{fan}}}}")],
            "percentunit",
            min_value=0,
        ),
        6,
        8,
    )
    grid.add(
        timeseries(
            "ECC errors",
            "ECC errors counted during the rate interval, corrected and uncorrected "
            "(consumer cards without ECC have none).",
            [
                Query(
                    f"increase(llmscope_gpu_ecc_errors_total{{{INST}}}{RATE})",
                    f"{GPU} {{{{type}}}}",
                )
            ],
            "none",
            min_value=0,
        ),
        6,
        8,
    )


def energy(grid: Grid) -> None:
    grid.row(row("Energy per token (local models)"))
    energy_buckets = "llmscope_target_energy_per_output_token_joules_bucket"
    grid.add(
        timeseries(
            "Energy per output token",
            "GPU energy during a probe divided by its output tokens, median and p95, for "
            "targets with gpu: in their configuration. Everything the GPU did meanwhile is "
            "charged (see docs/telemetry.md).",
            [
                Query(
                    f"histogram_quantile({q}, sum by (target, le) "
                    f"(rate({energy_buckets}{{{T}}}{RATE})))",
                    f"{{{{target}}}} p{int(q * 100)}",
                )
                for q in (0.5, 0.95)
            ],
            "joule",
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Mean GPU power while probing",
            "Energy charged to the target per second of probing: the hardware's draw while "
            "its probes ran.",
            [
                Query(
                    f"sum by (target) (rate(llmscope_target_energy_joules_total{{{T}}}{RATE})) "
                    "/ sum by (target) "
                    f"(rate(gen_ai_client_operation_duration_seconds_sum{{{T}}}{RATE}))",
                    "{{target}}",
                )
            ],
            "watt",
        ),
        8,
        8,
    )
    grid.add(
        stat(
            "Energy charged in the time range",
            "GPU energy charged to each target's probes during the dashboard's time range.",
            [
                Query(
                    f"sum by (target) (increase(llmscope_target_energy_joules_total{{{T}}}"
                    "[$__range]))",
                    "{{target}}",
                    instant=True,
                )
            ],
            "joule",
        ),
        4,
        8,
    )
    grid.add(
        timeseries(
            "CPU power from RAPL",
            "Mean power of each RAPL zone over the rate interval, from the CPU energy counter "
            "(Linux powercap; package-N is a whole socket, its sub-zones are parts of it or "
            "beside it). No series where RAPL is not readable: docs/telemetry.md.",
            [
                Query(
                    f"rate(llmscope_cpu_energy_joules_total{{{INST}}}{RATE})",
                    "{{instance}} {{zone}}",
                )
            ],
            "watt",
            min_value=0,
        ),
        12,
        8,
    )
