"""Instant queries against a real Prometheus that report errors instead of raising."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    error: str | None  # "bad_data: parse error ..." when Prometheus refused the query
    result: list[dict[str, Any]]


def instant(url: str, expr: str, timeout: float = 10.0) -> Answer:
    query = urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=timeout) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as err:
        body = json.loads(err.read() or b"{}")
    if body.get("status") != "success":
        return Answer(f"{body.get('errorType')}: {body.get('error')}", [])
    data = body["data"]
    # A scalar or string result is one value, not a list of series.
    result = data["result"] if data["resultType"] in ("vector", "matrix") else [data]
    return Answer(None, result)
