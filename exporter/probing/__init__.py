"""Running probes: the harness that turns a provider's stream into a ProbeResult, and the
scheduler that runs each target on its interval."""
