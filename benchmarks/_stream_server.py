"""A fake OpenAI stream server for benchmarks, run as its own process.

It records the CLOCK_MONOTONIC time at which each content chunk left, keyed by the probe's
prompt nonce, and serves them at ``GET /sent`` so the benchmark can compare them with the
times the exporter measured (both processes read the same system-wide clock).
"""

from __future__ import annotations

import asyncio
import json
import sys

from testkit.fakeserver import FakeRequest, FakeServer, Script, Step
from testkit.openai_fake import stream_script

CHUNKS = 16
TTFT = 0.1
GAP = 0.02


async def main(port_file: str) -> None:
    sent: dict[str, list[float]] = {}

    def key(request: FakeRequest) -> str:
        return str(json.loads(request.body)["messages"][0]["content"])

    def on_sent(request: FakeRequest, index: int, when: float) -> None:
        if 1 <= index <= CHUNKS:  # step 0 is the role-only chunk, the rest trail content
            sent.setdefault(key(request), []).append(when)

    def route(request: FakeRequest) -> Script:
        if request.path == "/sent":
            return Script(
                headers={"Content-Type": "application/json"},
                steps=[Step(json.dumps(sent).encode())],
            )
        return stream_script([f" {i}" for i in range(CHUNKS)], ttft=TTFT, gap=GAP)

    server = FakeServer(route, on_sent=on_sent)
    await server.start()
    with open(port_file, "w") as f:
        f.write(str(server.port))
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
