"""Detectors with memory (EWMA, CUSUM) and their run-length tools.

Pure numpy/scipy: imports nothing of the project but ``spc_rules.engine``."""
