"""A fleet of OpenAI-compatible endpoints on loopback, each serving several models, whose
latency and failures a test scripts while the whole stack probes them (docs/incidents.md).

Each endpoint is one fake server speaking the Chat Completions stream (testkit.openai_fake);
the model comes from the request body. ``factor[(endpoint, model)]`` multiplies the time to
the first chunk and the gaps; ``failing[endpoint]`` answers 503 as an overloaded server does.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from testkit.fakeserver import FakeRequest, FakeServer, Route, Script, serving_in_thread
from testkit.openai_fake import error_script, stream_script


@dataclass
class Fleet:
    models: Sequence[str]
    # Long enough that a busy test machine's scheduling jitter (milliseconds) is small
    # against the delays and their spread.
    ttft: float = 0.25
    gap: float = 0.04
    spread: float = 0.2  # sigma of ln(delay) per probe, first chunk and gaps
    endpoints: list[FakeServer] = field(default_factory=list)
    factor: dict[tuple[int, str], float] = field(default_factory=dict)
    failing: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set(
        self,
        *,
        factor: dict[tuple[int, str], float] | None = None,
        failing: set[int] | None = None,
    ) -> None:
        """The fleet's behaviour from now on (unnamed endpoints and models: normal)."""
        with self._lock:
            self.factor = dict(factor or {})
            self.failing = set(failing or ())

    def exporter_config(self, interval: str) -> str:
        """The exporter's config: one target per endpoint and model, probed every interval."""
        lines = ["targets:"]
        for e, server in enumerate(self.endpoints):
            for model in self.models:
                lines += [
                    f"  - name: ep{e}-{model}",
                    "    provider: openai",
                    f"    base_url: {server.url}/v1",
                    f"    model: {model}",
                    "    api_key_env: FLEET_API_KEY",
                    f"    interval: {interval}",
                    "    max_tokens: 4",
                ]
        return "\n".join(lines) + "\n"

    def route(self, index: int) -> Route:
        rng = random.Random(index)

        def answer(request: FakeRequest) -> Script:
            model = str(json.loads(request.body or b"{}").get("model", ""))
            with self._lock:
                if index in self.failing:
                    return error_script(503, "The server is overloaded", kind="server_error")
                k = self.factor.get((index, model), 1.0)
                # Real servers' delays vary from request to request, the first chunk's and
                # the gaps' alike: without spread a chart's sigma is the machine's jitter.
                first = rng.lognormvariate(0.0, self.spread)
                gaps = rng.lognormvariate(0.0, self.spread)
            pieces = ["a", "b", "c", "d"]
            return stream_script(pieces, ttft=self.ttft * k * first, gap=self.gap * k * gaps)

        return answer


@contextlib.contextmanager
def fleet(endpoints: int, models: Sequence[str]) -> Iterator[Fleet]:
    """``endpoints`` servers on loopback, each serving ``models``."""
    found = Fleet(models)
    with contextlib.ExitStack() as stack:
        for i in range(endpoints):
            found.endpoints.append(stack.enter_context(serving_in_thread(found.route(i))))
        yield found
