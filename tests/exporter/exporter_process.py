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

from prometheus_client.parser import text_string_to_metric_families

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

    def value(self, name: str, text: str | None = None, **labels: str) -> float | None:
        """The sample ``name`` whose labels include ``labels`` (every series also carries
        ``vantage``); None when there is none."""
        return sample(self.metrics() if text is None else text, name, **labels)

    def wait_for_value(self, name: str, value: float, timeout: float = 20.0, **labels: str) -> str:
        """Poll /metrics until the sample has ``value``; return the exposition."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.metrics()
            if sample(text, name, **labels) == value:
                return text
            time.sleep(0.1)
        raise AssertionError(f"{name}{labels} is not {value:g} after {timeout}s:\n{text[-3000:]}")

    def probes(self, target: str, text: str | None = None) -> float:
        """``llmscope_probes_total`` of a target (0 when it has none yet)."""
        return self.value("llmscope_probes_total", text, target=target) or 0.0

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


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the first sample ``name`` in an exposition whose labels include
    ``labels``; None when there is none."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and labels.items() <= s.labels.items():
                return float(s.value)
    return None


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
    # No key and no vantage from the shell running the tests: each test sets its own.
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_API_KEY") and k != "LLMSCOPE_VANTAGE"
    }
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
