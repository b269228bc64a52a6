"""Dashboards as code: ``python -m grafana.dashgen`` writes grafana/dashboards/*.json.

The JSON files are what users import or provision; this package is how they are made, so
every panel gets the same data source variable, units, descriptions and layout rules.
``--check`` exits 1 when a committed file differs from what the code generates.
"""
