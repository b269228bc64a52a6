"""LLMscope's one error tree. Every error raised on purpose derives from LLMscopeError.

    LLMscopeError
    ├── ConfigError        a configuration file or flag is wrong (exit code 2); one line a problem
    │   └── DocumentError  the problems found while reading one YAML document (servicekit.yamlconf)
    ├── ProbeError         one probe failed; ``reason`` is a bounded label (exporter.errors)
    │   └── FrameError     a malformed AWS event-stream frame (exporter.providers.wire.eventstream)
    ├── TransportError     a failure below HTTP in the probe client; ``failure`` says which, and
    │                      exporter.transport.netfail turns it into a ProbeError's reason
    ├── QueryError         one Prometheus API query failed; ``reason`` is a bounded label
    │                      (spc_rules.sidecar.query.promapi)
    ├── DecodeError        a Prometheus API answer is not the expected JSON
    │                      (spc_rules.sidecar.query.decode)
    ├── StartError         a part of the local stack could not start or become healthy
    │                      (llmscope_stack.supervise)
    └── SessionError       a research session cannot be read or used as asked; one line
                           (spc_rules.session.store)

The roots live here so both services share them; the leaves live beside the code that raises
them, because only that code knows their reasons.
"""

from __future__ import annotations


class LLMscopeError(Exception):
    """Base of every error LLMscope raises on purpose."""


class ConfigError(LLMscopeError):
    """The configuration is invalid; the message holds one line per problem."""
