"""Running the real exporter command as a subprocess, for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from testkit.realservers import free_port, http_get


@dataclass
class ExporterProcess:
    url: str
    process: subprocess.Popen[str]
    log_path: Path

    def metrics(self) -> str:
        return http_get(f"{self.url}/metrics").decode()

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for(self, needle: str, timeout: float = 20.0) -> str:
        """Poll /metrics until ``needle`` appears; return the exposition."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.metrics()
            if needle in text:
                return text
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} not in /metrics after {timeout}s:\n{text[-3000:]}")

    def probes(self, target: str, text: str | None = None) -> float:
        """``llmscope_probes_total`` of a target (0 when it has none yet)."""
        prefix = f'llmscope_probes_total{{target="{target}"}} '
        for line in (self.metrics() if text is None else text).splitlines():
            if line.startswith(prefix):
                return float(line.removeprefix(prefix))
        return 0.0

    def wait_for_probes(self, target: str, at_least: float, timeout: float = 20.0) -> str:
        """Poll /metrics until the target has done ``at_least`` probes; return the exposition.

        A counter can pass any given value between two polls, so wait for a bound, not a value.
        """
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.metrics()
            if self.probes(target, text) >= at_least:
                return text
            time.sleep(0.1)
        raise AssertionError(f"{target} not probed {at_least:g} times after {timeout}s")


@contextlib.contextmanager
def exporter_process(
    config: Path | None,
    tmp: Path,
    env: Mapping[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[ExporterProcess]:
    port = free_port()
    log_path = tmp / f"exporter-{port}.log"
    command = [
        sys.executable,
        "-m",
        "exporter",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=debug",
        *args,
    ]
    if config is not None:
        command.append(f"--config.file={config}")
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    environ.update(env or {})
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, text=True, env=environ
        )
    running = ExporterProcess(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise AssertionError(f"exporter exited {process.returncode}:\n{running.log()}")
            try:
                http_get(f"{running.url}/-/healthy", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # it answers: an auth-protected exporter says 401
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)
