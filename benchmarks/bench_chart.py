"""The chart the sidecar benchmarks judge: one histogram by target with every rule, EWMA,
CUSUM and a USL, the most a chart series costs. No numpy here: bench_sidecar_inprocess
imports numpy only after spc_rules has set one BLAS thread."""

from __future__ import annotations

METRIC = "bench_duration_seconds"


def chart_config(evaluation: str = "1h", baseline: str = "2h") -> str:
    """The sidecar configuration of the benchmarks' chart, judged every 30 s."""
    return f"""
global: {{interval: 30s}}
charts:
  - name: bench
    metric: {METRIC}
    by: [target]
    evaluation: {evaluation}
    baseline: {baseline}
    usl: 3s
    ewma: true
    cusum: true
"""
