"""A fake Prometheus over a generated fleet: it answers ``/api/v1/query`` with
``{matchers}[Nms]`` at ``time`` with the samples of ``time - N <= t <= time`` as Prometheus 2
does (``time - N < t`` with ``left_open``, as Prometheus 3 and VictoriaMetrics do), and only
those already stored by the test's clock: a sample becomes visible ``delay`` seconds after its
timestamp, like a scrape committed late.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Sequence

from testkit.fakeserver import FakeRequest, Script, Step
from tests.sidecar.data import METRIC, Series

_QUERY = re.compile(r"^\{(?P<matchers>.*)\}\[(?P<span>\d+)ms\]$")
# The incidents' context (target info, host CPU) is asked for by metric name.
_NAMED = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\[(?P<span>\d+)ms\]$")
_MATCHER = re.compile(r'(?P<name>\w+)(?P<op>=~|!~|!=|=)"(?P<value>(?:[^"\\]|\\.)*)"')
JSON = {"Content-Type": "application/json"}


class FakePrometheus:
    def __init__(
        self,
        fleet: Sequence[Series],
        clock: Callable[[], float],
        *,
        delay: float = 0.0,
        left_open: bool = False,
        metric: str = METRIC,
    ) -> None:
        self.left_open = left_open
        self.fleet = fleet
        self.clock = clock
        self.delay = delay
        self.metric = metric
        self.failing = False  # answer 503 while set

    def route(self, request: FakeRequest) -> Script:
        if self.failing:
            return Script(503, JSON, [Step(b'{"status":"error","error":"down"}')])
        params = dict(urllib.parse.parse_qsl(request.query))
        selector, at_ms, span_ms = parse_query(params["query"], params["time"])
        visible_ms = round((self.clock() - self.delay) * 1000)
        first_ms = at_ms - span_ms + int(self.left_open)
        matchers = [
            (m["name"], m["op"], json.loads(f'"{m["value"]}"')) for m in _MATCHER.finditer(selector)
        ]
        result = []
        for s in self.fleet:
            for suffix, pick in (("_count", "count"), ("_sum", "total")):
                labels = {"__name__": self.metric + suffix} | {
                    k: v for k, v in s.labels.items() if v
                }
                if not all(_matches(labels.get(n, ""), op, v) for n, op, v in matchers):
                    continue
                values = [
                    [sc.ts, repr(float(getattr(sc, pick)))]
                    for sc in s.scrapes
                    if first_ms <= round(sc.ts * 1000) <= min(at_ms, visible_ms)
                ]
                if values:
                    result.append({"metric": labels, "values": values})
        doc = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        return Script(200, JSON, [Step(json.dumps(doc, separators=(",", ":")).encode())])


def _matches(value: str, op: str, pattern: str) -> bool:
    if op == "=":
        return value == pattern
    if op == "!=":
        return value != pattern
    hit = re.fullmatch(pattern, value) is not None
    return hit if op == "=~" else not hit


def parse_query(query: str, time: str) -> tuple[str, int, int]:
    """(selector, evaluation time, range) of one query, times in whole milliseconds."""
    match = _QUERY.match(query)
    if match is None and (named := _NAMED.match(query)) is not None:
        selector = f'{{__name__="{named["name"]}"}}'
        return selector, round(float(time) * 1000), int(named["span"])
    assert match is not None, query
    return "{" + match["matchers"] + "}", round(float(time) * 1000), int(match["span"])
