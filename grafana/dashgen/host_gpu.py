"""LLMscope / Host & GPU: the exporter host's CPU, memory, network and disks, NVIDIA GPUs
through NVML, the sampled peaks between scrapes, energy per token, and collector health.

Every GPU series carries uuid, index and name; legends show index and name per instance.
"""

from __future__ import annotations

from grafana.dashgen import gpu, host
from grafana.dashgen.layout import Grid, dashboard, datasource_variable, query_variable
from grafana.dashgen.panels import Json

UID = "llmscope-host-gpu"


def build() -> Json:
    grid = Grid()
    for section in (host.collectors, host.cpu_memory, host.network_disk, gpu.gpu, gpu.energy):
        section(grid)
    return dashboard(
        UID,
        "LLMscope / Host & GPU",
        "The exporter host's CPU, memory, load, network and disks, NVIDIA GPU temperature, "
        "power and energy with peaks between scrapes, energy per token, collector health.",
        [
            datasource_variable(),
            query_variable(
                "instance", "Instance", "label_values(llmscope_collector_success, instance)"
            ),
            query_variable(
                "target", "Target", "label_values(llmscope_target_energy_joules_total, target)"
            ),
        ],
        grid,
    )
