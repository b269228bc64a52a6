"""Real Prometheus, Alertmanager and VictoriaMetrics processes for tests.

Each runs from Debian's packages on 127.0.0.1 with a free port and a temporary directory,
and is stopped (and its directory removed) when the context exits.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

PROMETHEUS = "prometheus"
PROMTOOL = "promtool"
ALERTMANAGER = "prometheus-alertmanager"
AMTOOL = "amtool"
VICTORIA = "victoria-metrics"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require(binary: str) -> str:
    """The binary's path; the test command installs these, so absence is a failure."""
    path = shutil.which(binary)
    if path is None:
        raise RuntimeError(f"{binary} not found: run the test command (scripts/test) first")
    return path


def http_get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        data: bytes = response.read()
        return data


def wait_ready(
    url: str,
    process: subprocess.Popen[bytes],
    timeout: float = 30.0,
    log: Path | None = None,
    get: Callable[[str, float], object] = http_get,
) -> None:
    """Until ``get(url, timeout)`` answers (it raises OSError until then); RuntimeError with
    the log's tail if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args!r} exited with {process.returncode}: {_log_tail(log)}"
            )
        try:
            get(url, 1.0)
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout}s")


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    directory: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@dataclass
class Prometheus(Server):
    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr}
        if at is not None:
            params["time"] = str(at)
        body = http_get(f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}")
        data = json.loads(body)
        assert data["status"] == "success", data
        result: list[dict[str, Any]] = data["data"]["result"]
        return result

    def reload(self) -> None:
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        urllib.request.urlopen(request, timeout=5).close()


def _spawn(args: Sequence[str], directory: Path) -> subprocess.Popen[bytes]:
    with (directory / "server.log").open("wb") as log:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=directory)


def _log_tail(log: Path | None, lines: int = 5) -> str:
    """The last lines a server wrote, for the error that says it did not start."""
    if log is None or not log.exists():
        return "(no log)"
    return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])


ServerT = TypeVar("ServerT", bound=Server)


@contextlib.contextmanager
def _running(
    kind: type[ServerT],
    directory: Path,
    args: Callable[[int], list[str]],
    ready_path: str,
) -> Iterator[ServerT]:
    """Start ``args(port)`` in ``directory``; wait for ``ready_path``; stop and clean up."""
    port = free_port()
    process = _spawn(args(port), directory)
    server = kind(f"http://127.0.0.1:{port}", process, directory)
    try:
        wait_ready(f"{server.url}{ready_path}", process, log=directory / "server.log")
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def prometheus(
    config: str, *, rules: dict[str, str] | None = None, extra_args: Sequence[str] = ()
) -> Iterator[Prometheus]:
    """Prometheus with ``config`` (prometheus.yml text) and optional rule files by name."""
    directory = Path(tempfile.mkdtemp(prefix="llmscope-prom-"))
    (directory / "prometheus.yml").write_text(config)
    for name, text in (rules or {}).items():  # a name may hold a folder: "rules/x.yml"
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    args = lambda port: [  # noqa: E731
        require(PROMETHEUS),
        f"--config.file={directory / 'prometheus.yml'}",
        f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--web.enable-admin-api",
        *extra_args,
    ]
    with _running(Prometheus, directory, args, "/-/ready") as server:
        yield server


@contextlib.contextmanager
def alertmanager(config: str) -> Iterator[Server]:
    directory = Path(tempfile.mkdtemp(prefix="llmscope-am-"))
    (directory / "alertmanager.yml").write_text(config)
    args = lambda port: [  # noqa: E731
        require(ALERTMANAGER),
        f"--config.file={directory / 'alertmanager.yml'}",
        f"--storage.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # a single node: no gossip port
    ]
    with _running(Server, directory, args, "/-/ready") as server:
        yield server


@contextlib.contextmanager
def victoria_metrics(extra_args: Sequence[str] = ()) -> Iterator[Prometheus]:
    """VictoriaMetrics single node; it answers the Prometheus query API on the same URL."""
    directory = Path(tempfile.mkdtemp(prefix="llmscope-vm-"))
    args = lambda port: [  # noqa: E731
        require(VICTORIA),
        f"-httpListenAddr=127.0.0.1:{port}",
        f"-storageDataPath={directory / 'data'}",
        "-retentionPeriod=100y",
        *extra_args,
    ]
    with _running(Prometheus, directory, args, "/health") as server:
        yield server
