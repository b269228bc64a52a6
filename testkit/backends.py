"""Real storage backends filled with known samples before the sidecar reads them.

Prometheus 2.42 loads backfilled blocks only at start, so ``BackfilledPrometheus`` builds the
blocks with ``promtool tsdb create-blocks-from openmetrics`` into its data directory first;
it can be stopped and started again on the same port and data, to test an outage.
VictoriaMetrics takes samples over HTTP (``/api/v1/import/prometheus``, millisecond
timestamps) and makes them searchable at once with ``/internal/force_flush``.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from testkit.realservers import (
    PROMETHEUS,
    PROMTOOL,
    Prometheus,
    free_port,
    require,
    victoria_metrics,
    wait_ready,
)

_CONFIG = "global:\n  scrape_interval: 15s\n"


class BackfilledPrometheus:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: Prometheus | None = None

    def start(self) -> Prometheus:
        with (self.directory / "server.log").open("ab") as log:  # the child keeps its copy
            process = subprocess.Popen(
                [
                    require(PROMETHEUS),
                    f"--config.file={self.directory / 'prometheus.yml'}",
                    f"--storage.tsdb.path={self.directory / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--storage.tsdb.retention.time=100y",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
            )
        self.server = Prometheus(self.url, process, self.directory)
        wait_ready(f"{self.url}/-/ready", process)
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@contextlib.contextmanager
def backfilled_prometheus(openmetrics: str | Path) -> Iterator[BackfilledPrometheus]:
    """Prometheus over blocks made from OpenMetrics text (or a file of it, for big inputs)."""
    directory = Path(tempfile.mkdtemp(prefix="llmscope-spc-prom-"))
    (directory / "prometheus.yml").write_text(_CONFIG)
    source = openmetrics if isinstance(openmetrics, Path) else directory / "backfill.om"
    if isinstance(openmetrics, str):
        source.write_text(openmetrics)
    subprocess.run(
        [
            require(PROMTOOL),
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(source),
            str(directory / "data"),
        ],
        check=True,
        capture_output=True,
    )
    backend = BackfilledPrometheus(directory)
    try:
        backend.start()
        yield backend
    finally:
        backend.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def filled_victoria_metrics(exposition_text: str) -> Iterator[Prometheus]:
    with victoria_metrics() as vm:
        request = urllib.request.Request(
            f"{vm.url}/api/v1/import/prometheus", data=exposition_text.encode(), method="POST"
        )
        urllib.request.urlopen(request, timeout=30).close()
        urllib.request.urlopen(f"{vm.url}/internal/force_flush", timeout=30).close()
        yield vm
