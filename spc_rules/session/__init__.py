"""Research sessions: capture from Prometheus, summarize, compare, trend and report.

A session folder (``servicekit.sessionformat``) holds the SPC points of one run; bench
sessions come from ``llmscope-exporter bench``, capture sessions from the histograms a
Prometheus stored, rebuilt by the sidecar's own code. docs/research.md is the guide.
"""
