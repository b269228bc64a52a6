"""A target's endpoint: the scheme, host and port its probes go to, one provider's service.

Named as the OpenTelemetry semantic conventions name a server (``server.address``, the host
without brackets; ``server.port``), plus ``scheme://host:port`` in one value, with the
scheme's default port written out, the host lower-cased and an IPv6 address bracketed, so
``https://API.example.com/v1`` and ``https://api.example.com:443/v2`` are one endpoint. The
path, the query and anything else of the URL stay out: they can carry secrets.

A simulated target sends nothing. Unless it names the service it stands for with a
``base_url`` (demos of several targets behind one endpoint), each is its own endpoint,
``simulated://<target>``: its delays are drawn apart from every other target's.
"""

from __future__ import annotations

from dataclasses import dataclass

from exporter.config.types import TargetConfig
from exporter.transport.urls import split_url

SIMULATED = "simulated"


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    address: str  # server.address: lower case, IPv6 without brackets; "" when unknown
    port: int | None  # server.port; None where the scheme has none (simulated)

    @property
    def url(self) -> str:
        """``scheme://host:port``; "" when unknown."""
        if not self.address:
            return ""
        ipv6 = ":" in self.address and self.scheme != SIMULATED  # a target name may hold ":"
        host = f"[{self.address}]" if ipv6 else self.address
        return f"{self.scheme}://{host}" + ("" if self.port is None else f":{self.port}")

    def labels(self) -> tuple[str, str, str]:
        """The values of ``endpoint``, ``server_address`` and ``server_port``."""
        return self.url, self.address, "" if self.port is None else str(self.port)


UNKNOWN = Endpoint("", "", None)


def endpoint_of(target: TargetConfig, root_url: str) -> Endpoint:
    """The endpoint of ``target``, whose probes go to ``root_url`` (its ``base_url`` or its
    provider's default; "" when the provider cannot build one, as Bedrock without a region)."""
    if not root_url:
        return Endpoint(SIMULATED, target.name, None) if target.provider == SIMULATED else UNKNOWN
    try:
        origin, _ = split_url(root_url)
    except ValueError:  # the loader refuses such a base_url; a provider's default is valid
        return UNKNOWN
    return Endpoint(origin.scheme, origin.host, origin.port)
