"""Child processes: started in their own process groups, watched, and all stopped.

Each child leads its own process group (``start_new_session``), so a Ctrl-C in the terminal
reaches only the launcher, which then stops the children in reverse order of start: SIGTERM
to the whole group, a wait, SIGKILL to the group if it is still there, and a final wait so
that no zombie or grandchild outlives the launcher.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from servicekit.errors import LLMscopeError

STOP_TIMEOUT = 10.0  # seconds a child gets to exit after SIGTERM before SIGKILL

# Our children listen on 127.0.0.1: asked directly, never through the environment's
# http_proxy, which would see the bearer token and could answer for a child that is down.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StartError(LLMscopeError):
    """A child that could not start or did not become healthy; the message says which."""


@dataclass
class Child:
    name: str
    argv: tuple[str, ...]
    process: subprocess.Popen[bytes]
    log: Path
    health: str  # URL that answers 200 once the child is ready

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:]) or "(empty log)"


class Supervisor:
    def __init__(self, logs: Path, environ: Mapping[str, str], token: str | None) -> None:
        self.logs = logs
        self.environ = dict(environ)
        self.token = token
        self.children: list[Child] = []

    def start(self, name: str, argv: Sequence[str], health: str, timeout: float = 60.0) -> Child:
        """Start ``argv`` (output to ``<logs>/<name>.log``) and wait until ``health`` answers."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            try:
                process = subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=self.environ,
                    start_new_session=True,
                )
            except OSError as err:
                raise StartError(f"{name}: cannot start {argv[0]}: {err.strerror}") from None
        child = Child(name, tuple(argv), process, log, health)
        self.children.append(child)
        self.wait_healthy(child, timeout)
        return child

    def wait_healthy(self, child: Child, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not child.running():
                raise StartError(
                    f"{child.name} exited with status {child.process.returncode}: "
                    f"{child.log_tail()} (whole log: {child.log})"
                )
            if self._answers(child.health):
                return
            time.sleep(0.2)
        raise StartError(f"{child.name} not healthy after {timeout:g}s (log: {child.log})")

    def _answers(self, url: str) -> bool:
        request = urllib.request.Request(url)  # noqa: S310 - our own http:// URLs
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with _DIRECT.open(request, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def exited(self) -> Child | None:
        """The first child that is no longer running, if any."""
        return next((c for c in self.children if not c.running()), None)

    def restart(self, name: str, timeout: float = 60.0) -> Child:
        """Stop one child and start it again with the same command (the soak uses this)."""
        old = next(c for c in self.children if c.name == name)
        stop_child(old)
        self.children.remove(old)
        return self.start(name, old.argv, old.health, timeout)

    def stop_all(self) -> None:
        for child in reversed(self.children):
            stop_child(child)


def stop_child(child: Child, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM to the child's group, then SIGKILL after ``timeout``; always reaped."""
    _signal_group(child.pid, signal.SIGTERM)
    try:
        child.process.wait(timeout)
    except subprocess.TimeoutExpired:
        _signal_group(child.pid, signal.SIGKILL)
        child.process.wait()
    # Grandchildren the child left behind in its group go too.
    _signal_group(child.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
