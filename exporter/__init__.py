"""LLMscope exporter: streaming probes of LLM providers, exposed as Prometheus metrics."""
