"""The sidecar's /metrics as text: the per-series families and how they are written."""
