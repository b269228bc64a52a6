"""Grafana assets of LLMscope; a package only so the dashboard generator (dashgen) imports."""
