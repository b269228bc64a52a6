"""The query stage of a cycle: which raw samples each chart needs, fetched once per selector.

One ``/api/v1/query`` per histogram and window piece, never one per series; charts with the
same selector and windows share a fetch, several pieces are in flight at once, and a window
longer than ``max_range`` is cut into pieces that ``points.stitch`` joins again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from spc_rules.sidecar.config import SidecarConfig
from spc_rules.sidecar.decode import DecodeError, RawSeries, decode_matrix
from spc_rules.sidecar.evaluate import fetch_start
from spc_rules.sidecar.model import ChartConfig, RangeBaseline
from spc_rules.sidecar.points import Points, SeriesKey, stitch
from spc_rules.sidecar.promapi import PromClient, QueryError, pieces
from spc_rules.sidecar.selector import render_selector

# (chart name, "window" or "baseline")
Purpose = tuple[str, str]


@dataclass(frozen=True)
class Fetch:
    """Raw samples of one selector over [start, end]; charts with the same one share it."""

    selector: str
    start: float
    end: float


@dataclass(frozen=True)
class CachedBaseline:
    """A fixed-range baseline's points, fetched at ``fetched_at`` for ``chart``."""

    chart: ChartConfig
    fetched_at: float
    points: dict[SeriesKey, Points]


def plan(
    config: SidecarConfig, now: float, cached: Mapping[str, CachedBaseline]
) -> dict[Purpose, Fetch]:
    """Every chart's window fetch, and the fixed-range baselines due for a (re)fetch."""
    out: dict[Purpose, Fetch] = {}
    for chart in config.charts:
        selector = render_selector((f"{chart.metric}_sum", f"{chart.metric}_count"), chart.matchers)
        out[(chart.name, "window")] = Fetch(selector, fetch_start(chart, now, config.lookback), now)
        base = chart.baseline
        known = cached.get(chart.name)
        if isinstance(base, RangeBaseline) and (
            known is None
            or known.chart != chart
            or now - known.fetched_at >= config.baseline_refresh
        ):
            out[(chart.name, "baseline")] = Fetch(selector, base.start - config.lookback, base.end)
    return out


async def query(
    client: PromClient, config: SidecarConfig, fetches: set[Fetch]
) -> dict[Fetch, list[bytes] | QueryError]:
    """The answers (one body per piece) of every fetch, or the first error of its pieces."""
    gate = asyncio.Semaphore(config.max_concurrent_queries)

    async def piece(selector: str, at: int, span: int) -> bytes:
        async with gate:
            return await client.raw_samples(selector, at, span)

    async def fetch(f: Fetch) -> list[bytes] | QueryError:
        parts = pieces(f.start, f.end, config.max_range)
        got = await asyncio.gather(
            *(piece(f.selector, at, span) for at, span in parts), return_exceptions=True
        )
        for item in got:
            if isinstance(item, QueryError):
                return item
            if isinstance(item, BaseException):
                raise item
        return [b for b in got if isinstance(b, bytes)]

    ordered = sorted(fetches, key=lambda f: (f.selector, f.start, f.end))
    results = await asyncio.gather(*(fetch(f) for f in ordered))
    return dict(zip(ordered, results, strict=True))


def decode(bodies: list[bytes] | QueryError) -> list[RawSeries] | QueryError:
    """The stitched series of one fetch; a malformed answer is a ``bad_response``."""
    if isinstance(bodies, QueryError):
        return bodies
    try:
        return stitch(s for body in bodies for s in decode_matrix(body))
    except DecodeError as err:
        return QueryError("bad_response", f"cannot decode the answer: {err}")
