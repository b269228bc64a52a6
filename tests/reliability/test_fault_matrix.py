"""Issue 8's fault matrix and secret hygiene, through the running Exporter.

For every provider x every fault: the probe fails with the right reason, the exporter stays
up, a healthy target beside them keeps its schedule, and no API key (canary values, bearer
and SigV4 alike) appears in /metrics or in the logs at debug level.
"""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter.app import Exporter
from exporter.configfile import load_text
from servicekit import logs
from testkit.fakeserver import serving
from testkit.realservers import free_port
from tests.reliability.matrix import (
    CANARIES,
    EXPECTED,
    NETWORK_KINDS,
    UNRESOLVABLE,
    WIRES,
    full_backlog,
    route_for,
    target_yaml,
)

AWS_SECRET = "canary-aws-secret-key-0b9e77"
AWS_TOKEN = "canary-aws-session-token-c3f1"
HEALTHY = (
    "  - {name: healthy, provider: simulated, model: s, interval: 100ms, ttft: 2ms, "
    "gap: 1ms, max_tokens: 4}\n"
)


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's unresolvable host fails name resolution without asking any DNS server."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == UNRESOLVABLE:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def captured_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The exporter's real log set-up at debug level, writing into a buffer."""
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)
    logs.setup("debug")
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.DEBUG)
    yield buffer
    logging.getLogger().handlers.clear()


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("kind", NETWORK_KINDS)
def test_every_fault_gives_its_reason_and_leaks_no_key(
    kind: str, no_dns: None, captured_logs: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDCANARYEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", AWS_TOKEN)
    wire = WIRES[kind]
    registry = CollectorRegistry()

    async def go() -> list[Any]:
        async with serving(route_for(wire)) as server:
            with full_backlog() as backlog:
                refused = free_port()
                targets = [target_yaml(wire, f, server.url, refused, backlog) for f in EXPECTED]
                targets.append(target_yaml(wire, "good", server.url, refused, backlog))
                if kind == "bedrock":  # the SigV4 path, with secrets from the environment
                    for fault in ("good", "500"):
                        targets.append(
                            target_yaml(wire, fault, server.url, refused, backlog)
                            .replace(f"name: bedrock-{fault}", f"name: bedrock-sigv4-{fault}")
                            .replace("    api_key_env: CANARY_BEDROCK\n", "")
                        )
                # The cap on probes in flight is lifted: hung fault probes must not delay
                # the healthy target through it (that is the cap's job, tested elsewhere);
                # what is measured here is isolation on the event loop.
                text = (
                    "global: {max_body_bytes: 4096, max_concurrency: 64}\ntargets:\n"
                    + "".join(targets)
                    + HEALTHY
                )
                config = load_text(text, "matrix.yml", CANARIES)
                exporter = Exporter(lambda: config, registry, environ=CANARIES)
                await exporter.start()
                deadline = time.monotonic() + 15
                names = [t.name for t in config.targets if t.name != "healthy"]
                while time.monotonic() < deadline and not all(
                    value(registry, "llmscope_probes_total", target=n) >= 1 for n in names
                ):
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.3)
                await exporter.stop()
            return list(server.requests)

    requests = asyncio.run(go())
    for fault, reason in EXPECTED.items():
        name = f"{kind}-{fault}"
        probes = value(registry, "llmscope_probes_total", target=name)
        assert probes >= 1, f"{name}: never probed"
        assert (
            value(registry, "llmscope_probe_errors_total", target=name, reason=reason) == probes
        ), f"{name}: expected every probe to fail with {reason}"
    assert value(registry, "llmscope_probe_success", target=f"{kind}-good") == 1
    # Retries never multiply spend: one request per probe, failed or not.
    for fault in ("500", "429_retry_after", "good"):
        sent_for = [
            r
            for r in requests
            if r.path.startswith(f"/{fault}/")
            and not r.path.endswith("/api/tags")  # Ollama's digest look-up: no generation
            and not r.headers.get("authorization", "").startswith("AWS4-")  # bedrock-sigv4-*
        ]
        probes = value(registry, "llmscope_probes_total", target=f"{kind}-{fault}")
        # A probe still in flight when the exporter stops sent its request but is never
        # counted (a target never overlaps its own probes, so at most one is): a retry would
        # show as twice the requests.
        assert probes <= len(sent_for) <= probes + 1, (len(sent_for), probes)
    if kind == "bedrock":
        assert value(registry, "llmscope_probe_success", target="bedrock-sigv4-good") == 1
        signed = [r for r in requests if r.headers.get("authorization", "").startswith("AWS4-")]
        assert signed and all(AWS_SECRET not in r.headers["authorization"] for r in signed)

    # The healthy target kept its schedule while every fault ran beside it.
    healthy = value(registry, "llmscope_probes_total", target="healthy")
    assert healthy >= 10

    # Lateness stays small: most probes start within 10 ms of their slot, and the faults
    # hold none up (a fault that blocked the loop would delay every probe after it). One
    # probe may still start late when the 2-core test machine's other workers starve this
    # process for a moment, hence one allowed past the 250 ms ceiling.
    def started_within(seconds: str) -> float:
        return value(
            registry,
            "llmscope_probe_schedule_lateness_seconds_bucket",
            target="healthy",
            le=seconds,
        )

    started = value(registry, "llmscope_probe_schedule_lateness_seconds_count", target="healthy")
    assert started_within("0.25") >= started - 1
    assert started_within("0.01") >= 0.8 * started

    # Keys reached the server (so they were really used) and nowhere else.
    secrets = [*CANARIES.values(), AWS_SECRET, AWS_TOKEN]
    sent = " ".join(v for r in requests for v in r.headers.values())
    assert any(s in sent for s in secrets) or kind == "ollama"
    exposition = generate_latest(registry).decode()
    log_text = captured_logs.getvalue()
    assert "probe failed" in log_text  # the log really was captured at debug level
    for secret in secrets:
        assert secret not in exposition
        assert secret not in log_text
