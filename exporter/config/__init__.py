"""The exporter's configuration: frozen types and the YAML loader (exporter.configfile binds
the provider table and holds the built-in default)."""
