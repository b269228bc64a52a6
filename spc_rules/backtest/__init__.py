"""``llmscope-spc backtest``: history replayed through the live sidecar's path (docs/backtest.md).

A CSV of probes (``csvinput``) becomes the raw counters the exporter would have stored
(``counters``), or a Prometheus range is read as stored (``prometheus``); ``replay`` runs the
sidecar's cycles over it at the live spacing (the same decode functions, ``Stages.compute``,
failure runs and ``IncidentEngine``), and ``episodes`` prints every page and ticket incident.
"""
