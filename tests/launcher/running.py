"""``scripts/run`` as a user runs it: a subprocess whose terminal lines the test reads."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from testkit.realservers import free_port

ROOT = Path(__file__).resolve().parents[2]
READY = "notifications from Alertmanager appear below"
# The receiver's line: "12:03:04 FIRING   critical LLMscopeSPCOutOfControl a="b" c="d": ..."
NOTIFICATION = re.compile(r"^\d\d:\d\d:\d\d (FIRING|RESOLVED)\s+(\S+) (\S+)((?: \w+=\"[^\"]*\")*):")
TOKEN = "stack-test-token-7f3a"  # a test's own bearer token


def ready(lines: list[str]) -> bool:
    """True once the launcher said every part is healthy."""
    return any(line.startswith(READY) for line in lines)


@dataclass(frozen=True)
class Notification:
    status: str
    severity: str
    alertname: str
    labels: dict[str, str]


def parse(line: str) -> Notification | None:
    match = NOTIFICATION.match(line)
    if match is None:
        return None
    labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(4)))
    return Notification(match.group(1), match.group(2), match.group(3), labels)


@dataclass
class Stack:
    process: subprocess.Popen[str]
    ports: dict[str, int]
    lines: list[str] = field(default_factory=list)

    def url(self, part: str) -> str:
        return f"http://127.0.0.1:{self.ports[part]}"

    def wait_for(self, found: Callable[[list[str]], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found(list(self.lines)):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        tail = "\n".join(self.lines[-30:])
        raise AssertionError(f"no {what} within {timeout:g}s; scripts/run printed:\n{tail}")

    def notifications(self) -> list[Notification]:
        return [n for n in map(parse, list(self.lines)) if n is not None]

    def children(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)


def environment(data: Path, interval: str) -> dict[str, str]:
    """The caller's environment without provider keys, plus the documented settings."""
    keys = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "LLMSCOPE_API_KEY")
    env = {k: v for k, v in os.environ.items() if k not in keys}
    env.update(
        MONITORING_INTERVAL=interval,
        LLMSCOPE_DATA=str(data),
        LLMSCOPE_API_KEY=TOKEN,
        DATA_RETENTION_DAYS="2",
        OLLAMA_URL=f"http://127.0.0.1:{free_port()}",  # nothing there: no Ollama target
    )
    return env


@contextlib.contextmanager
def scripts_run(env: dict[str, str], cwd: Path, extra: Sequence[str] = ()) -> Iterator[Stack]:
    """``scripts/run`` with free ports (and ``extra`` flags); SIGINT (a Ctrl-C) at the end if
    it still runs."""
    ports = {p: free_port() for p in ("exporter", "spc", "prometheus", "alertmanager", "receiver")}
    flags = [a for part, port in ports.items() for a in (f"--{part}.port", str(port))]
    flags += extra
    process = subprocess.Popen(
        [str(ROOT / "scripts" / "run"), *flags],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = Stack(process, ports)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            stack.lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield stack
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reader.join(5)
