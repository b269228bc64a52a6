"""A fake OpenAI-compatible server that fails a few percent of requests, for the soak run.

Run as its own process: ``python -m benchmarks._fault_server PORT_FILE FAULT_RATE SEED``.
"""

from __future__ import annotations

import asyncio
import random
import sys

from testkit.fakeserver import FakeRequest, FakeServer, Script, Step
from testkit.openai_fake import SSE_HEADERS, chunk, error_script, stream_script

FAULTS = ("500", "429", "truncated", "stall", "malformed", "not_sse")


def faulty(kind: str) -> Script:
    if kind == "500":
        return error_script(500, "internal")
    if kind == "429":
        return error_script(429, "slow down", headers={"Retry-After": "1"})
    if kind == "truncated":
        return Script(headers=SSE_HEADERS, steps=[Step(chunk("a").encode())], ending="close")
    if kind == "stall":
        return Script(headers=SSE_HEADERS, steps=[Step(chunk("a").encode())], ending="hang")
    if kind == "malformed":
        return Script(headers=SSE_HEADERS, steps=[Step(b"data: {oops\n\n")])
    return Script(headers={"Content-Type": "text/html"}, steps=[Step(b"<h1>502</h1>")])


async def main(port_file: str, fault_rate: float, seed: int) -> None:
    rng = random.Random(seed)

    def route(request: FakeRequest) -> Script:
        if rng.random() < fault_rate:
            return faulty(rng.choice(FAULTS))
        return stream_script([f" {i}" for i in range(8)], ttft=0.02, gap=0.005)

    server = FakeServer(route)
    await server.start()
    with open(port_file, "w") as f:
        f.write(str(server.port))
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3])))
