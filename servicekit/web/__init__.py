"""The HTTP server both services run: routes, exporter-toolkit web config, basic and bearer
auth, TLS."""
