"""The exporter's /metrics: bucket boundaries and the probe metric families."""
