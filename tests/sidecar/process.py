"""Running the real ``llmscope-spc`` command as a subprocess, for end-to-end tests."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from testkit.realservers import wait_ready


@contextlib.contextmanager
def sidecar_process(
    config: Path | None, prometheus_url: str, port: int, log: Path
) -> Iterator[str]:
    """The sidecar on 127.0.0.1:``port`` with a 1 s cycle (the built-in charts when
    ``config`` is None); yields its base URL."""
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "spc_rules",
        *([f"--config.file={config}"] if config is not None else []),
        f"--prometheus.url={prometheus_url}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--spc.interval=1s",
        "--log.level=debug",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(f"{url}/-/healthy", process, timeout=20, log=log)
        yield url
    finally:
        if process.poll() is None:
            process.terminate()
            try:  # a cycle's compute thread (a paging design) can outlast the stop
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
