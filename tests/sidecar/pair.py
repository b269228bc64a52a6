"""Two sidecars that run the same cycles side by side, one with the sample cache and one that
fetches every window whole, and the queries each sent."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

from spc_rules.sidecar.config.loader import SidecarConfig
from spc_rules.sidecar.incidents.identity import CPU_METRIC, INFO_METRIC
from spc_rules.sidecar.service import Sidecar
from tests.sidecar.expected import Labels, scrape
from tests.sidecar.fakeprom import parse_query

Published = dict[tuple[str, Labels], float]
# What differs between two healthy sidecars: their timings and reload times.
_OWN = {
    "llmscope_spc_cycle_duration_seconds",
    "llmscope_spc_config_last_reload_success_timestamp_seconds",
}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recording(httpx.AsyncBaseTransport):
    """Passes requests on, noting (selector, time ms, range ms) of each query."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.queries: list[tuple[str, int, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        query = parse_query(params["query"], params["time"])
        # The charts' queries; the incidents' context (target info, host CPU) is not theirs.
        if query[0] not in CONTEXT:
            self.queries.append(query)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


CONTEXT = {f'{{__name__="{name}"}}' for name in (INFO_METRIC, CPU_METRIC)}


def published(sidecar: Sidecar) -> Published:
    return {k: v for k, v in scrape(sidecar.collector).items() if k[0] not in _OWN}


@dataclass(frozen=True)
class Pair:
    cached: Sidecar
    whole: Sidecar
    cached_queries: Recording
    whole_queries: Recording

    async def cycle(self, ok: bool = True) -> tuple[list[tuple[str, int, int]], int]:
        """One cycle of both, which must succeed (or fail) and publish the same; the queries
        the cached sidecar sent, and how many the other sent."""
        sent = len(self.cached_queries.queries), len(self.whole_queries.queries)
        assert await self.cached.cycle() == ok
        assert await self.whole.cycle() == ok
        assert published(self.cached) == published(self.whole)
        return (
            self.cached_queries.queries[sent[0] :],
            len(self.whole_queries.queries) - sent[1],
        )


@contextlib.asynccontextmanager
async def paired(
    urls: tuple[str, str], clock: Clock, load: Callable[[], SidecarConfig]
) -> AsyncIterator[Pair]:
    """The cached sidecar reads ``urls[0]``, the other ``urls[1]``."""
    recorders = Recording(), Recording()
    cached = Sidecar(load, urls[0], clock=clock, transport=recorders[0])
    whole = Sidecar(load, urls[1], clock=clock, transport=recorders[1], cache_samples=False)
    try:
        yield Pair(cached, whole, *recorders)
    finally:
        await cached.aclose()
        await whole.aclose()
