"""``llmscope-exporter bench``: N probes per target now, written as a session folder.

The probes go through the exporter's own provider table and harness (``run_probe``), with its
prompts, clock and connection pools; the folder's layout is ``servicekit.sessionformat``'s.
"""
