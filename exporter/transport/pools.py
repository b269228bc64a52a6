"""One connection pool per target behind the one shared ``httpx.AsyncClient``.

httpcore's pool scans every connection it holds on each request and response event, so a
single pool serving 200 streaming targets costs O(targets) per event and the exporter's
own CPU starts to delay the timestamps it takes. Each target streams one probe at a time,
so it needs one connection: a small pool per target keeps every event O(1), while all
pools share one TLS context (building one costs tens of milliseconds) and one client.
"""

from __future__ import annotations

import ssl

import httpx

POOL_KEY = "llmscope.pool"  # request extension naming the pool (the target's name)


class PerTargetTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        ssl_context: ssl.SSLContext | None = None,
        *,
        max_connections: int = 4,
        max_keepalive: int = 1,
    ) -> None:
        self._ssl = ssl_context or ssl.create_default_context()
        # A benchmark runs several probes of one target at once and keeps their connections.
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_keepalive
        )
        self._pools: dict[str, httpx.AsyncHTTPTransport] = {}

    def _pool(self, key: str) -> httpx.AsyncHTTPTransport:
        pool = self._pools.get(key)
        if pool is None:
            pool = httpx.AsyncHTTPTransport(
                verify=self._ssl,
                limits=self._limits,
            )
            self._pools[key] = pool
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = str(request.extensions.get(POOL_KEY, ""))
        return await self._pool(key).handle_async_request(request)

    async def drop(self, key: str) -> None:
        """Close the pool of a target that a reload removed."""
        pool = self._pools.pop(key, None)
        if pool is not None:
            await pool.aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
