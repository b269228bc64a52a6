"""The sidecar's configuration: chart model types, selectors, the YAML loader."""
