"""The SPC engine: limits, Nelson rules 1-8 and capability.

Pure numpy/scipy: imports nothing of the project outside ``spc_rules.engine``."""
