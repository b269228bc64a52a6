"""The exporter's configuration: frozen types, the YAML loader, the built-in default."""
