"""Reload by SIGHUP and POST /-/reload: a bad new config keeps the running one."""

from __future__ import annotations

import signal
import urllib.error
import urllib.request
from pathlib import Path

from tests.exporter.exporter_process import exporter_process

TARGET = (
    "  - {{name: {}, provider: simulated, model: m, interval: 100ms, ttft: 1ms, max_tokens: 2}}\n"
)
ONE = "targets:\n" + TARGET.format("a")
TWO = ONE + TARGET.format("b")


def post(url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_sighup_reload_adds_a_target_and_a_bad_file_keeps_the_old(tmp_path: Path) -> None:
    path = tmp_path / "cfg.yml"
    path.write_text(ONE)
    with exporter_process(path, tmp_path) as exporter:
        exporter.wait_for_probes("a", 2)
        path.write_text(TWO)
        exporter.process.send_signal(signal.SIGHUP)
        exporter.wait_for_probes("b", 2)

        path.write_text("targets: [{name: a, provider: simulated}]\n")  # model missing
        status, body = post(exporter.url + "/-/reload")
        assert status == 500
        assert "targets[0].model: required" in body
        text = exporter.wait_for_value("llmscope_config_last_reload_successful", 0.0)
        before = exporter.probes("b", text)
        text = exporter.wait_for_probes("b", before + 2)
        assert exporter.value("llmscope_target_info", text, target="b", model="m") == 1.0

        path.write_text(ONE)
        status, _ = post(exporter.url + "/-/reload")
        assert status == 200
        text = exporter.wait_for_value("llmscope_config_last_reload_successful", 1.0)
        assert 'target="b"' not in text  # a removed target's series vanish
