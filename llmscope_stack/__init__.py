"""``llmscope-stack``: the whole pipeline on one machine, as ``scripts/run`` starts it.

The exporter, the SPC sidecar, Prometheus and Alertmanager run as child processes from the
repository's own configuration files; only what must differ on a workstation is generated
(ports, paths, the bearer token, and the timeline when ``MONITORING_INTERVAL`` compresses it).
A receiver inside this process prints every Alertmanager notification as one line.
"""
