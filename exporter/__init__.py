"""LLMscope exporter: streaming probes of LLM providers, exposed as Prometheus metrics."""

__version__ = "0.1.0"
