"""The code compose.yaml carries inline, run for real: the webhook receiver and the
health checks of the LLMscope services (everything but Docker itself)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from testkit.realservers import free_port, http_get
from tests.exporter.exporter_process import exporter_process
from tests.stack import compose
from tests.stack.livestack import spc_sidecar

SERVICES = compose.load()["services"]
NOTIFICATION = {
    "version": "4",
    "receiver": "llmscope-critical",
    "status": "firing",
    "alerts": [{"status": "firing", "labels": {"alertname": "LLMscopeProbeFailing"}}],
}


def _python_c(words: list[str]) -> str:
    """The code of a ``python [-u] -c CODE`` command."""
    assert words[0] == "python" and "-c" in words, words
    return words[words.index("-c") + 1]


def _healthcheck(service: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    test = SERVICES[service]["healthcheck"]["test"]
    assert test[0] == "CMD"
    code = _python_c(test[1:])
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


def test_webhook_receiver_prints_each_notification(tmp_path: Path) -> None:
    port = str(free_port())
    env = {**os.environ, "WEBHOOK_PORT": port}
    code = _python_c(SERVICES["webhook"]["command"])
    with subprocess.Popen(
        [sys.executable, "-u", "-c", code], env=env, stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + 10
            while True:
                try:
                    http_get(url, timeout=1)
                    break
                except (urllib.error.URLError, OSError):
                    assert time.monotonic() < deadline, "webhook did not start"
                    time.sleep(0.1)
            assert _healthcheck("webhook", {"WEBHOOK_PORT": port}).returncode == 0
            request = urllib.request.Request(
                url,
                data=json.dumps(NOTIFICATION).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 200
            assert process.stdout is not None
            ready, _, _ = select.select([process.stdout], [], [], 5)
            assert ready, "the receiver printed nothing"
            printed = json.loads(process.stdout.readline())
        finally:
            process.terminate()
    assert printed == {
        "receiver": "llmscope-critical",
        "status": "firing",
        "alerts": [{"alertname": "LLMscopeProbeFailing"}],
    }


def test_exporter_and_sidecar_healthchecks_pass_against_the_real_services(
    tmp_path: Path,
) -> None:
    with exporter_process(None, tmp_path) as exporter:
        ok = _healthcheck("exporter", {"LLMSCOPE_HEALTH_URL": f"{exporter.url}/-/healthy"})
        assert ok.returncode == 0, ok.stderr
    down = _healthcheck("exporter", {"LLMSCOPE_HEALTH_URL": f"{exporter.url}/-/healthy"})
    assert down.returncode != 0, "a stopped exporter must fail its health check"
    # The sidecar answers /-/healthy even while Prometheus is unreachable.
    with spc_sidecar(tmp_path, "http://127.0.0.1:9", free_port()) as sidecar_url:
        ok = _healthcheck("spc", {"LLMSCOPE_HEALTH_URL": f"{sidecar_url}/-/healthy"})
        assert ok.returncode == 0, ok.stderr
