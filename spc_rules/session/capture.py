"""``session capture``: a session from a Prometheus time range, rebuilt as the sidecar does.

Each chart's ``_sum`` and ``_count`` samples over ``[from - lookback, to]`` are fetched with
the sidecar's own query code (``fetching.query``: range selectors in instant queries, cut
into ``max_range`` pieces), decoded and stitched by ``fetching.decode``, rebuilt into points
by ``points.chart_points`` and cut to ``from < t <= to`` by ``windows.window``: the points the
sidecar judges for that window, to the bit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

from servicekit.httpclient import NO_SETTINGS, ClientSettings
from servicekit.sessionformat import (
    FORMAT_VERSION,
    METADATA_FILE,
    Point,
    machine,
    versions,
    write_json,
    write_points,
)
from spc_rules.session.store import SessionError
from spc_rules.sidecar.config.loader import SidecarConfig
from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.query import fetching
from spc_rules.sidecar.query.points import Points, SeriesKey, chart_points
from spc_rules.sidecar.query.promapi import PromClient, QueryError
from spc_rules.sidecar.query.windows import window

_UNITS = {"seconds": "seconds", "bytes": "bytes", "joules": "joules"}


def unit_of(metric: str) -> str:
    """The base unit a Prometheus name ends with (``_seconds``), else empty."""
    match = re.search(r"_([a-z]+)$", metric)
    return _UNITS.get(match.group(1), "") if match else ""


def series_name(chart: ChartConfig, key: SeriesKey) -> str:
    """The session's ``target``: the non-empty values of the chart's ``by`` labels (a series
    without a vantage is named by its target alone), or the chart name."""
    return ",".join(v for v in key if v) or chart.name


async def fetch_points(
    url: str,
    config: SidecarConfig,
    charts: Sequence[ChartConfig],
    start: float,
    end: float,
    *,
    http: ClientSettings = NO_SETTINGS,
) -> dict[str, dict[SeriesKey, Points]]:
    """Each chart's points with ``start < t <= end``; SessionError if Prometheus fails."""
    client = PromClient(
        url, timeout=config.query_timeout, compression=config.compression, http=http
    )
    fetches = {
        chart.name: fetching.Fetch(
            fetching.selector_of(chart),
            math.floor((start - config.lookback) * 1000),
            math.ceil(end * 1000),
        )
        for chart in charts
    }
    try:
        answers = await fetching.query(client, config, set(fetches.values()), fetching.Decoder())
    finally:
        await client.aclose()
    out: dict[str, dict[SeriesKey, Points]] = {}
    for chart in charts:
        got = fetching.decode(answers[fetches[chart.name]])
        if isinstance(got, QueryError):
            raise SessionError(f"cannot read Prometheus at {url}: {got.reason}: {got}")
        rebuilt = chart_points(got, chart.metric, chart.by)
        keys = list(rebuilt)
        cut = window([rebuilt[k] for k in keys], start, end)
        out[chart.name] = {
            key: Points(
                cut.timestamps[row, : cut.counts[row]],
                cut.values[row, : cut.counts[row]],
                cut.sizes[row, : cut.counts[row]],
            )
            for row, key in enumerate(keys)
            if cut.counts[row] > 0
        }
    return out


def write_capture(
    folder: Path,
    url: str,
    charts: Sequence[ChartConfig],
    found: dict[str, dict[SeriesKey, Points]],
    *,
    start: float,
    end: float,
) -> int:
    """Write points.csv and metadata.json; returns the number of points."""
    by_name = {c.name: c for c in charts}
    rows = [
        Point(float(t), series_name(by_name[name], key), name, float(v), float(n))
        for name, series in found.items()
        for key, p in series.items()
        for t, v, n in zip(p.timestamps, p.values, p.sizes, strict=True)
    ]
    rows.sort(key=lambda p: (p.time, p.metric, p.target))
    count = write_points(folder, rows)
    targets = sorted({p.target for p in rows})
    write_json(
        folder / METADATA_FILE,
        {
            "format": FORMAT_VERSION,
            "kind": "capture",
            "targets": [{"name": t} for t in targets],
            "metrics": {
                c.name: {"unit": unit_of(c.metric), "usl": c.usl, "lsl": c.lsl, "log": c.log}
                for c in charts
            },
            "start": start,
            "end": end,
            "versions": versions(),
            "machine": machine(),
            "capture": {
                "prometheus": url,
                "charts": {
                    c.name: {
                        "metric": c.metric,
                        "selector": fetching.selector_of(c),
                        "by": list(c.by),
                    }
                    for c in charts
                },
            },
        },
    )
    return count
