"""The Prometheus HTTP API client: raw samples of one selector over a window, in bounded pieces.

Only ``/api/v1/query`` with a range selector is used (``{...}[7200000ms]`` at a time), which
returns the stored samples unchanged, and which Prometheus, Thanos, Mimir and VictoriaMetrics
all answer. A window longer than ``max_range`` is cut into adjacent pieces, newest first;
the caller stitches their samples, so no difference between two scrapes is lost at a seam.

Failures map onto a small fixed set of reasons (label values of
``llmscope_spc_query_errors_total``); the server's own error text only goes to the log.
"""

from __future__ import annotations

import asyncio
import math
import ssl
from typing import Final, Literal, get_args

import httpx

from servicekit import bodies
from servicekit.bodies import BodyError
from servicekit.errors import LLMscopeError
from servicekit.httpclient import NO_SETTINGS, ClientSettings, CredentialsError
from spc_rules.sidecar.query.decode import Body, DecodeError, load_json

Reason = Literal["connect", "timeout", "network", "server_error", "client_error", "bad_response"]
REASONS: Final[tuple[str, ...]] = get_args(Reason)
_MAX_ERROR_TEXT = 200


class QueryError(LLMscopeError):
    """One query failed for ``reason``."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason


def pieces(start: float, end: float, max_range: float) -> list[tuple[int, int]]:
    """(evaluation time, range), both in whole milliseconds, of each query covering
    [start, end], newest first. PromQL ranges are whole milliseconds; working in integers
    makes adjacent pieces meet exactly."""
    return pieces_ms(math.floor(start * 1000), math.ceil(end * 1000), max_range)


def pieces_ms(first: int, at: int, max_range: float) -> list[tuple[int, int]]:
    """``pieces`` of [first, at], given in whole milliseconds."""
    step = max(int(max_range * 1000), 1)
    out: list[tuple[int, int]] = []
    while at > first:
        span = min(step, at - first)
        out.append((at, span))
        at -= span
    return out


class PromClient:
    """One keep-alive HTTP client for the whole sidecar; ``base_url`` may carry a path prefix
    (Mimir's ``/prometheus``, a reverse proxy's), ``http`` credentials, headers and TLS."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        compression: bool = False,
        max_bytes: int = 1 << 30,
        transport: httpx.AsyncBaseTransport | None = None,
        http: ClientSettings = NO_SETTINGS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # gzip saves bandwidth across a network but costs the server more CPU than the
        # transfer saves on a local link (measured in docs/benchmarks.md).
        self.compression = compression
        self.max_bytes = max_bytes  # an answer past this fails (bad_response), not the process
        self._http = http  # its headers are put together for each request (rotated secrets)
        self._transport = transport
        # httpx fixes a client's TLS context: renewed TLS files (http.verify gives a new
        # context) get a new client; the old one is closed once no request uses it.
        self._verify: ssl.SSLContext | bool | None = None
        self._client: httpx.AsyncClient | None = None
        self._retired: list[httpx.AsyncClient] = []
        self._in_flight = 0

    async def aclose(self) -> None:
        for client in [*self._retired, *([self._client] if self._client else [])]:
            await client.aclose()
        self._retired, self._client = [], None

    def _current(self) -> httpx.AsyncClient:
        """The client for a request now (CredentialsError where new TLS files do not load)."""
        verify = self._http.verify
        if self._client is None or verify is not self._verify:
            if self._client is not None:
                self._retired.append(self._client)
            self._verify = verify
            self._client = httpx.AsyncClient(
                transport=self._transport,
                timeout=httpx.Timeout(self.timeout),
                headers={"User-Agent": "llmscope-spc", "Accept": "application/json"},
                verify=verify,
                follow_redirects=False,
            )
        return self._client

    def _unread(self, response: httpx.Response, err: BodyError) -> str:
        if str(err).startswith("larger than"):
            return (
                f"HTTP {response.status_code}: answer larger than max_answer_bytes "
                f"({self.max_bytes} bytes; a shorter max_range asks for less at once)"
            )
        return f"HTTP {response.status_code}: answer not read: {err}"

    async def _close_retired(self) -> None:
        if self._in_flight == 0:
            retired, self._retired = self._retired, []
            for client in retired:
                await client.aclose()

    async def raw_samples(self, selector: str, at_ms: int, span_ms: int) -> Body:
        """The body of ``selector[span]`` evaluated at ``at``; raises QueryError.

        Read into one growing buffer: collecting the chunks and joining them (``aread``)
        held a first cycle's answer twice over, hundreds of megabytes at 10,000 series."""
        params = {
            "query": f"{selector}[{span_ms}ms]",
            "time": f"{at_ms // 1000}.{at_ms % 1000:03d}",
            "timeout": f"{self.timeout:g}s",
        }
        url = f"{self.base_url}/api/v1/query"
        self._in_flight += 1
        answered = False  # whether a failure came before the answer or within its body
        try:
            async with asyncio.timeout(self.timeout):
                headers = {"Accept-Encoding": "gzip" if self.compression else "identity"}
                async with self._current().stream(
                    "GET",
                    url,
                    params=params,
                    timeout=self.timeout,
                    headers=headers | self._http.headers,
                ) as response:
                    answered = True
                    # Raw bytes, decoded here within max_bytes (servicekit/bodies.py).
                    body = await bodies.aread(response, self.max_bytes)
        except BodyError as err:
            raise QueryError("bad_response", self._unread(response, err)) from None
        except TimeoutError:
            raise QueryError("timeout", f"no answer within {self.timeout:g}s") from None
        except httpx.TimeoutException as err:
            raise QueryError("timeout", f"{type(err).__name__} after {self.timeout:g}s") from None
        except httpx.ConnectError as err:
            raise QueryError("connect", f"cannot connect: {err}") from None
        except httpx.HTTPError as err:
            raise QueryError("network", f"{type(err).__name__}: {err}") from None
        except ssl.SSLError as err:
            # In TLS 1.3 the server checks the client's certificate after the client's side
            # of the handshake is done: a refusal comes as an alert on the first read, which
            # httpcore passes on as it is, not as a ConnectError.
            raise QueryError("network" if answered else "connect", f"TLS: {err}") from None
        except OSError as err:
            raise QueryError("network", f"{type(err).__name__}: {err}") from None
        except CredentialsError as err:  # a secret file gone or emptied since the start
            raise QueryError("client_error", f"credentials: {err}") from None
        finally:
            self._in_flight -= 1
            await self._close_retired()
        if response.status_code >= 500:
            raise QueryError("server_error", _error_text(response.status_code, body))
        if response.status_code >= 300:
            raise QueryError("client_error", _error_text(response.status_code, body))
        return body


def _error_text(status: int, body: Body) -> str:
    """``HTTP 422: <the API's error field>``, or the start of a body that is not the API's."""
    detail = body[:_MAX_ERROR_TEXT].decode("utf-8", "replace").strip()
    try:
        doc = load_json(body)
    except DecodeError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("error"), str):
        detail = f"{doc.get('errorType', 'error')}: {doc['error'][:_MAX_ERROR_TEXT]}"
    return f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
