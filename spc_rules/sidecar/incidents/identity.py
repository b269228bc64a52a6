"""Who a chart series is: its target, model, endpoint and vantage.

A series' own labels come first (a chart that groups by ``endpoint`` or ``model_name`` says so
itself); what they lack comes from the exporter's ``llmscope_target_info`` (one series per
target and vantage, with the endpoint as scheme://host:port and the model; docs/exporter.md).
A series with no target label is its own target, named by its ``series`` label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from spc_rules.sidecar.incidents.model import Identity
from spc_rules.sidecar.query.decode import DecodeError, decode_matrix
from spc_rules.sidecar.query.promapi import PromClient, QueryError

# Label names that carry each part, in order of preference (the exporter's, the OTel GenAI
# conventions', and the serving engines' names; docs/incidents.md).
_MODEL_LABELS = ("model", "gen_ai_request_model", "model_name", "requested_model")
_ENDPOINT_LABELS = ("endpoint", "api_base", "instance")


@dataclass(frozen=True)
class TargetInfo:
    """What ``llmscope_target_info`` says, per (target, vantage); vantage "" matches any."""

    by_probe: Mapping[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def from_series(cls, series: Iterable[Mapping[str, str]]) -> TargetInfo:
        """From the label sets of ``llmscope_target_info``."""
        table: dict[tuple[str, str], tuple[str, str]] = {}
        for labels in series:
            target = labels.get("target", "")
            if not target:
                continue
            endpoint = labels.get("endpoint", "") or _address(labels)
            value = (endpoint, labels.get("model", ""))
            table[(target, labels.get("vantage", ""))] = value
            table.setdefault((target, ""), value)
        return cls(table)

    def lookup(self, target: str, vantage: str) -> tuple[str, str]:
        return self.by_probe.get((target, vantage)) or self.by_probe.get((target, ""), ("", ""))


INFO_METRIC = "llmscope_target_info"


async def fetch_info(client: PromClient, at_ms: int, span_ms: int) -> TargetInfo | None:
    """The exporters' target info as stored over ``span`` before ``at``; None when the query
    fails (the caller keeps what it had: the info changes rarely)."""
    try:
        body = await client.raw_samples(INFO_METRIC, at_ms, span_ms)
        return TargetInfo.from_series(s.labels for s in decode_matrix(body))
    except (QueryError, DecodeError):
        return None


CPU_METRIC = "llmscope_host_cpu_utilization_ratio"


async def fetch_host_cpu(client: PromClient, at_ms: int, span_ms: int) -> dict[str, float] | None:
    """Each vantage's busiest host CPU share at its newest sample (the exporters' own host
    collector); None when the query fails."""
    try:
        body = await client.raw_samples(CPU_METRIC, at_ms, span_ms)
        found: dict[str, float] = {}
        for s in decode_matrix(body):
            if s.values.size:
                vantage = s.labels.get("vantage", "")
                found[vantage] = max(found.get(vantage, 0.0), float(s.values[-1]))
        return found
    except (QueryError, DecodeError):
        return None


def identify(labels: Mapping[str, str], series: str, info: TargetInfo) -> Identity:
    target = labels.get("target", "") or series
    vantage = labels.get("vantage", "")
    known_endpoint, known_model = info.lookup(target, vantage)
    model = _first(labels, _MODEL_LABELS) or known_model
    endpoint = _first(labels, _ENDPOINT_LABELS) or _address(labels) or known_endpoint
    return Identity(target=target, model=model, endpoint=endpoint, vantage=vantage)


def _first(labels: Mapping[str, str], names: tuple[str, ...]) -> str:
    return next((labels[n] for n in names if labels.get(n)), "")


def _address(labels: Mapping[str, str]) -> str:
    """host:port from the OTel ``server_address``/``server_port`` pair, "" without them."""
    host = labels.get("server_address", "")
    port = labels.get("server_port", "")
    return f"{host}:{port}" if host and port else host
