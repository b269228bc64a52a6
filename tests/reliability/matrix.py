"""The fault matrix: for every provider's wire format, a good answer and each fault.

One fake server serves every cell: a target's ``base_url`` starts with ``/<fault>``, and the
route answers that fault in the target provider's own format.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from exporter.providers.wire.eventstream import encode_message, string_headers
from testkit.fakeserver import FakeRequest, Route, Script, Step
from testkit.openai_fake import stream_script
from testkit.wire import (
    Plan,
    anthropic_script,
    bedrock_script,
    gemini_script,
    json_error,
    ollama_script,
)

# Providers whose probes cross the network; "simulated" has no wire to break.
NETWORK_KINDS = ("openai", "azure_openai", "anthropic", "gemini", "bedrock", "ollama")

# fault -> the reason the probe must fail with
EXPECTED = {
    "connection_refused": "connect",
    "dns_failure": "dns",
    "connect_timeout": "timeout",
    "read_timeout": "timeout",
    "stall_mid_stream": "stall",
    "429_retry_after": "rate_limited",
    "500": "server_error",
    "503": "server_error",
    "malformed_frame": "protocol",
    "truncated_stream": "truncated",
    "oversized_body": "oversized",
    "invalid_utf8": "protocol",
    "wrong_content_type": "protocol",
    # Issue 25: a length of Latin-1 "\u00b2" (a digit to str.isdigit, not to int) was an
    # uncaught ValueError (internal); a redirect read as "truncated".
    "bad_content_length": "protocol",
    "redirect": "protocol",
    "gzip_transfer_coding": "protocol",
    # A 401 whose body quotes the key back, as OpenAI's "Incorrect API key provided: ..."
    # does: the key must still appear nowhere in the exporter's output.
    "401_echoing_key": "auth",
}
# Faults that need no route: the connection never reaches an HTTP server.
NO_SERVER = ("connection_refused", "dns_failure", "connect_timeout")
UNRESOLVABLE = "llmscope-dns-failure.test"
KEY_HEADERS = ("authorization", "x-api-key", "api-key", "x-goog-api-key")


@dataclass(frozen=True)
class Wire:
    kind: str
    good: Callable[[Plan], Script]
    malformed: bytes
    bad_utf8: bytes
    extra_yaml: str = ""


def _openai(plan: Plan) -> Script:
    script = stream_script(list(plan.pieces), done=plan.cut_after is None)
    if plan.cut_after is not None:
        script.steps = script.steps[: plan.cut_after + 1]
    return script


def _bedrock_frame(payload: bytes) -> bytes:
    headers = {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode_message(string_headers(headers), payload)


SSE_MALFORMED = b"data: {oops\n\n"
SSE_BAD_UTF8 = b"data: \xff\xfe\n\n"
WIRES = {
    "openai": Wire(
        "openai", _openai, SSE_MALFORMED, SSE_BAD_UTF8, "    api_key_env: CANARY_OPENAI\n"
    ),
    "azure_openai": Wire(
        "azure_openai", _openai, SSE_MALFORMED, SSE_BAD_UTF8, "    api_key_env: CANARY_AZURE\n"
    ),
    "anthropic": Wire(
        "anthropic",
        anthropic_script,
        b"event: content_block_delta\ndata: {oops\n\n",
        b"event: content_block_delta\ndata: \xff\xfe\n\n",
        "    api_key_env: CANARY_ANTHROPIC\n",
    ),
    "gemini": Wire(
        "gemini", gemini_script, SSE_MALFORMED, SSE_BAD_UTF8, "    api_key_env: CANARY_GEMINI\n"
    ),
    "bedrock": Wire(
        "bedrock",
        bedrock_script,
        b"\x00\x00\x00\x10garbage-frame!!",
        _bedrock_frame(b'{"delta":{"text":"\xff\xfe"}}'),
        "    api_key_env: CANARY_BEDROCK\n    region: us-east-1\n",
    ),
    "ollama": Wire("ollama", ollama_script, b"{oops\n", b'{"message":{"content":"\xff"}}\n'),
}
CANARIES = {
    "CANARY_OPENAI": "sk-canary-openai-7f3a9c",
    "CANARY_AZURE": "canary-azure-41d2e8",
    "CANARY_ANTHROPIC": "sk-ant-canary-93bb10",
    "CANARY_GEMINI": "AIza-canary-gemini-5c71",
    "CANARY_BEDROCK": "canary-bedrock-bearer-62aa",
}


def fault_script(wire: Wire, fault: str) -> Script:
    good = wire.good(Plan())
    headers = dict(good.headers)
    first = good.steps[:2]
    if fault == "read_timeout":
        return Script(headers=headers, steps=good.steps, header_delay=3.0)
    if fault == "stall_mid_stream":
        return Script(headers=headers, steps=first, ending="hang")
    if fault == "429_retry_after":
        return json_error(429, {"error": {"message": "slow down"}}, {"Retry-After": "1"})
    if fault in ("500", "503"):
        return json_error(int(fault), {"error": {"message": f"fault {fault}"}})
    if fault == "malformed_frame":
        return Script(headers=headers, steps=[*first, Step(wire.malformed)])
    if fault == "truncated_stream":
        return wire.good(Plan(cut_after=2))
    if fault == "oversized_body":
        return wire.good(Plan(pieces=tuple("x" * 1500 for _ in range(4))))
    if fault == "invalid_utf8":
        return Script(headers=headers, steps=[*first, Step(wire.bad_utf8)])
    if fault == "bad_content_length":
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return Script(
            raw=f"HTTP/1.1 200 OK\r\n{head}Content-Length: \u00b2\r\n\r\n".encode("latin-1")
        )
    if fault == "redirect":
        return Script(status=308, headers={"Location": "http://127.0.0.1:9/moved/v2"})
    if fault == "gzip_transfer_coding":
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return Script(
            raw=f"HTTP/1.1 200 OK\r\n{head}Transfer-Encoding: gzip\r\n\r\n".encode("latin-1")
            + b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
        )
    if fault == "wrong_content_type":
        return Script(headers={"Content-Type": "text/html"}, steps=good.steps)
    assert fault == "good", fault
    return good


def route_for(wire: Wire) -> Route:
    def route(request: FakeRequest) -> Script:
        fault = request.path.split("/")[1]
        if fault == "401_echoing_key":
            key = next(
                (
                    request.headers[h].removeprefix("Bearer ")
                    for h in KEY_HEADERS
                    if h in request.headers
                ),
                "",
            )
            return json_error(401, {"error": {"message": f"Incorrect API key provided: {key}"}})
        return fault_script(wire, fault)

    return route


@contextmanager
def full_backlog() -> Iterator[int]:
    """A port whose accept queue is full: new connections hang in SYN (a connect timeout).

    The listener never accepts; two connections fill its queue of one, and Linux drops
    further SYNs, so a client waits until its own timeout. All on 127.0.0.1.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(3):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(listener.getsockname())
        fillers.append(s)
    try:
        yield int(listener.getsockname()[1])
    finally:
        for s in fillers:
            s.close()
        listener.close()


def target_yaml(wire: Wire, fault: str, base: str, refused: int, backlog: int) -> str:
    if fault == "connection_refused":
        base = f"http://127.0.0.1:{refused}"
    elif fault == "dns_failure":
        base = f"http://{UNRESOLVABLE}:80"
    elif fault == "connect_timeout":
        base = f"http://127.0.0.1:{backlog}"
    else:
        base = f"{base}/{fault}"
    if wire.kind == "openai":
        base += "/v1"
    return (
        f"  - name: {wire.kind}-{fault}\n    provider: {wire.kind}\n    base_url: {base}\n"
        f"    model: m-1\n    interval: 400ms\n    timeout: 1500ms\n    stall_timeout: 800ms\n"
        f"{wire.extra_yaml}"
    )


def payload_text(body: bytes) -> str:
    return json.dumps(body.decode("latin-1"))
