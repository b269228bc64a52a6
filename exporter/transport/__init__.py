"""The probe client: HTTP/1.1 framing, connections kept per target, phases, proxies, and
transport failures mapped to reasons (docs/exporter.md, "The probe client")."""
