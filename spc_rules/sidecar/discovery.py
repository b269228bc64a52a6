"""Which engine metric names Prometheus stores, so that only the presets with data are charted.

One request: ``GET /api/v1/label/__name__/values`` with ``match[]`` naming exactly the names
the selected presets read, over the last ``window``. Prometheus (2.24 and later), Thanos
Query, Mimir (under its ``/prometheus`` prefix) and VictoriaMetrics all answer it with the
names of stored series; ``/api/v1/metadata`` would answer only on Prometheus (it reads the
live scrape targets, and a remote-write receiver or VictoriaMetrics has none), and the
series API returns every matching series instead of the few names. docs/engines.md has the
per-backend notes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable

import httpx

from servicekit import bodies
from servicekit.bodies import BodyError
from servicekit.errors import LLMscopeError
from servicekit.httpclient import NO_SETTINGS, ClientSettings, CredentialsError
from spc_rules.sidecar.query.decode import DecodeError, load_json

DEFAULT_WINDOW = 3600.0  # names with a sample in the last hour: engines still scraped
_MAX_ERROR_TEXT = 200
MAX_ANSWER_BYTES = 16 << 20
ACCEPT = {"Accept-Encoding": "gzip"}


class DiscoveryError(LLMscopeError):
    """Prometheus could not say which names it stores (down, an error, not the API)."""


# (base URL, names, timeout) -> the names among them that are stored
Discover = Callable[[str, Iterable[str], float], frozenset[str]]


def match_selector(names: Iterable[str]) -> str:
    """``{__name__=~"a|b"}`` for exactly these names (colons and dots escaped for RE2)."""
    return '{__name__=~"' + "|".join(re.escape(n) for n in sorted(set(names))) + '"}'


def stored_names(
    base_url: str,
    names: Iterable[str],
    timeout: float,
    *,
    window: float = DEFAULT_WINDOW,
    clock: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
    http: ClientSettings = NO_SETTINGS,
) -> frozenset[str]:
    wanted = frozenset(names)
    if not wanted:
        return frozenset()
    now = clock()
    params = {
        "match[]": match_selector(wanted),
        "start": f"{now - window:.3f}",
        "end": f"{now:.3f}",
    }
    url = base_url.rstrip("/") + "/api/v1/label/__name__/values"
    try:
        with (
            httpx.Client(
                timeout=timeout, transport=transport, headers=http.headers, verify=http.verify
            ) as client,
            # gzip or nothing: what servicekit/bodies.py reads (httpx also offers deflate).
            client.stream("GET", url, params=params, headers=ACCEPT) as response,
        ):
            # A few names: a body past the limit is not an answer (servicekit/bodies.py).
            content = bodies.read(response, MAX_ANSWER_BYTES, timeout)
    except BodyError as err:
        raise DiscoveryError(f"{base_url}: answer not read: {err}") from None
    except (httpx.HTTPError, CredentialsError, OSError) as err:  # OSError: a TLS alert
        raise DiscoveryError(f"cannot ask {base_url} for metric names: {err}") from None
    if response.status_code != 200:
        text = content[:_MAX_ERROR_TEXT].decode("utf-8", "replace").strip()
        raise DiscoveryError(f"{base_url} answered HTTP {response.status_code}: {text}")
    try:
        body = load_json(content)  # any malformed JSON, nesting too deep included
    except DecodeError:
        body = None
    data = body.get("data") if isinstance(body, dict) and body.get("status") == "success" else None
    if not isinstance(data, list) or not all(isinstance(n, str) for n in data):
        raise DiscoveryError(f"{base_url}: not a Prometheus label values answer")
    return wanted & frozenset(data)
