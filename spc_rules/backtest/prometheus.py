"""A Prometheus range read for a replay: every chart's samples as stored, fetched once.

Each selector of the charts (and ``llmscope_target_info``) is read with the sidecar's own
query code (``fetching.query``: range selectors in instant queries, cut into ``max_range``
pieces, stitched by ``fetching.decode``) over the whole replay, from far enough before its
first cycle for that cycle's windows and any fixed-range baseline.
"""

from __future__ import annotations

import math

from servicekit.errors import LLMscopeError
from servicekit.httpclient import NO_SETTINGS, ClientSettings
from spc_rules.sidecar.config.loader import SidecarConfig
from spc_rules.sidecar.config.windows import fetch_span
from spc_rules.sidecar.incidents.identity import INFO_METRIC
from spc_rules.sidecar.query import fetching
from spc_rules.sidecar.query.decode import RawSeries
from spc_rules.sidecar.query.promapi import PromClient, QueryError


class PrometheusError(LLMscopeError):
    """The history cannot be read from Prometheus; the message is one line."""


def first_needed(config: SidecarConfig, start: float) -> float:
    """The earliest sample the replay's cycles from ``start`` read."""
    first = start - max((fetch_span(c) for c in config.charts), default=0.0) - config.lookback
    for chart in config.charts:
        fixed = chart.baseline.fixed_range
        if fixed is not None:
            first = min(first, fixed[0] - config.lookback)
    return first


async def read_history(
    url: str,
    config: SidecarConfig,
    start: float,
    end: float,
    *,
    http: ClientSettings = NO_SETTINGS,
) -> list[RawSeries]:
    """Every stored series the charts select, once each, over the replay's range."""
    first_ms = math.floor(first_needed(config, start) * 1000)
    end_ms = math.ceil(end * 1000)
    selectors = {s for chart in config.charts for s in fetching.selectors_of(chart)}
    selectors.add(INFO_METRIC)
    fetches = {s: fetching.Fetch(s, first_ms, end_ms) for s in sorted(selectors)}
    client = PromClient(
        url, timeout=config.query_timeout, compression=config.compression, http=http
    )
    try:
        answers = await fetching.query(client, config, set(fetches.values()), fetching.Decoder())
    finally:
        await client.aclose()
    stored: dict[tuple[tuple[str, str], ...], RawSeries] = {}
    for selector, fetch in fetches.items():
        got = fetching.decode(answers[fetch])
        if isinstance(got, QueryError):
            raise PrometheusError(
                f"cannot read {selector} from {url}: {got.reason}: {str(got).splitlines()[0]}"
            )
        for series in got:
            stored.setdefault(tuple(sorted(series.labels.items())), series)
    return list(stored.values())
