"""A window's pieces are decoded as they arrive, while Prometheus is still answering the
others (``fetching.Decoder``); what a cycle's stages report of that time."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.query import fetching
from spc_rules.sidecar.query.decode import Body, RawSeries, decode_matrix
from spc_rules.sidecar.query.points import stitch
from spc_rules.sidecar.query.promapi import PromClient, QueryError
from spc_rules.sidecar.service import Sidecar
from tests.sidecar.data import METRIC, generate, matrix_answer

END = 1_700_000_000.0
END_MS = int(END * 1000)
CONFIG = load_text("global: {max_range: 20m}\ncharts: [{name: a, metric: m}]", "t.yml")
NEWEST = matrix_answer(generate(END, 80))  # 20 minutes of scrapes 15 s apart
OLDER = matrix_answer(generate(END - 1200, 80))


class _Staggered(PromClient):
    """Answers the newest piece at once and the older one only once ``released`` is set."""

    def __init__(self, older: bytes) -> None:
        super().__init__("http://127.0.0.1:9", timeout=5.0)
        self.older = older
        self.released = asyncio.Event()

    async def raw_samples(self, selector: str, at_ms: int, span_ms: int) -> bytes:
        if at_ms == END_MS:
            return NEWEST
        await asyncio.wait_for(self.released.wait(), timeout=5.0)
        return self.older


def _fetch(client: _Staggered) -> dict[fetching.Fetch, fetching.Pieces]:
    wanted = fetching.Fetch("m", END_MS - 40 * 60_000, END_MS)  # two pieces of 20 minutes
    decoder = fetching.Decoder()

    async def receive(body: Body) -> list[RawSeries]:
        got = await decoder(body)
        client.released.set()  # the older piece is answered only after one was decoded
        return got

    async def run() -> dict[fetching.Fetch, fetching.Pieces]:
        try:
            return await fetching.query(client, CONFIG, {wanted}, receive)
        finally:
            await client.aclose()

    answers = asyncio.run(run())
    assert decoder.seconds > 0.0
    return answers


def test_the_newest_piece_is_decoded_before_the_older_one_is_answered() -> None:
    # Were the pieces decoded only when all had come back, the older one would wait on a
    # decode that never starts (TimeoutError).
    ((_, pieces),) = _fetch(_Staggered(OLDER)).items()
    assert not isinstance(pieces, QueryError)
    stitched = fetching.decode(pieces)
    assert not isinstance(stitched, QueryError)
    # The same as stitching the two answers decoded at the end.
    whole = stitch(decode_matrix(NEWEST) + decode_matrix(OLDER))
    assert [s.labels for s in stitched] == [s.labels for s in whole]
    for got, expected in zip(stitched, whole, strict=True):
        assert got.timestamps.size > 80  # both pieces' scrapes
        assert np.array_equal(got.timestamps, expected.timestamps)
        assert np.array_equal(got.values, expected.values)


def test_a_malformed_piece_fails_its_fetch_as_a_bad_response() -> None:
    ((_, pieces),) = _fetch(_Staggered(b'{"status":"success","data":')).items()
    assert isinstance(pieces, QueryError)
    assert pieces.reason == "bad_response"
    assert "cannot decode the answer" in str(pieces)


def test_a_cycle_reports_the_overlapped_decoding_as_decode() -> None:
    # The stages still partition the cycle: none negative, together no longer than it took.
    config = f"global: {{max_range: 20m, lookback: 1m}}\ncharts: [{{name: a, metric: {METRIC}}}]"
    client = _Staggered(OLDER)
    client.released.set()

    async def run() -> tuple[dict[str, float], float]:
        sidecar = Sidecar(lambda: load_text(config, "t.yml"), client.base_url, clock=lambda: END)
        sidecar.client = client
        try:
            start = time.perf_counter()
            await sidecar.cycle()
            return dict(sidecar.collector.health.stage_seconds), time.perf_counter() - start
        finally:
            await sidecar.aclose()

    stages, took = asyncio.run(run())
    assert min(stages.values()) >= 0.0
    assert stages["decode"] > 0.0
    assert sum(stages.values()) <= took
