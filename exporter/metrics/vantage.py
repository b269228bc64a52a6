"""The exporter's vantage: where it probes from, as the ``vantage`` label of every series.

Exporters in several regions can feed one Prometheus; equal target names then stay apart,
and the sidecar can tell "every target from one vantage" (our network) from "one endpoint
from every vantage" (their service). The value is ``--vantage``, else ``LLMSCOPE_VANTAGE``,
else the host name, and is checked at start so a bad one is one line, not a bad label.

The label is added in one place, the registry the web server renders, so every family
(probe metrics, host and GPU telemetry, canaries, build info) carries it without any
collector knowing about it.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric

from servicekit.errors import ConfigError

ENV = "LLMSCOPE_VANTAGE"
LABEL = "vantage"
# A host name, a Kubernetes node name or a region name fits: DNS length, no spaces or quotes.
_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")


def resolve(
    flag: str | None,
    environ: Mapping[str, str],
    hostname: Callable[[], str] = socket.gethostname,
) -> str:
    """The vantage from the flag, the environment or the host name, in that order.

    Raises ConfigError (one line) naming the source when the value is no usable label.
    """
    hint = ""
    if flag is not None:
        value, source = flag, "--vantage"
    elif ENV in environ:
        value, source = environ[ENV], ENV
    else:
        value, source = hostname(), "the host name"
        hint = f" (or set --vantage or {ENV})"
    if not _VALID.fullmatch(value):
        shown = "empty" if not value else repr(value)
        raise ConfigError(
            f"vantage from {source} is {shown}: use 1 to 253 letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit{hint}"
        )
    return value


class VantageRegistry(CollectorRegistry):
    """A registry whose every sample carries ``vantage``; collectors register as usual."""

    def __init__(self, vantage: str) -> None:
        super().__init__()
        self.vantage = vantage

    def collect(self) -> Iterable[Metric]:
        for metric in super().collect():
            yield _labelled(metric, self.vantage)


def _labelled(metric: Metric, vantage: str) -> Metric:
    """A copy of ``metric`` with the label on each sample (collectors may reuse theirs)."""
    copy = Metric(metric.name, metric.documentation, metric.type, metric.unit)
    copy.samples = [s._replace(labels={**s.labels, LABEL: vantage}) for s in metric.samples]
    return copy
