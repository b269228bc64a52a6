"""The sidecar's /metrics is protected exactly like the exporter's (shared web settings)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from testkit.realservers import free_port

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spc_rules", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=ROOT,
        env=env,
    )


def test_published_dev_token_is_refused_unless_allowed() -> None:
    env = {**os.environ, "LLMSCOPE_API_KEY": "dev-123"}
    refused = run("--config.check", env=env)
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("llmscope-spc: config error: LLMSCOPE_API_KEY:")
    assert run("--config.check", "--web.allow-dev-token", env=env).returncode == 0


def test_bearer_token_and_web_config_protect_every_route(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "LLMSCOPE_API_KEY": "sidecar-token-5e1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spc_rules",
            "--prometheus.url",
            f"http://127.0.0.1:{free_port()}",
            "--web.listen-address",
            f"127.0.0.1:{port}",
            "--web.config.file",
            str(ROOT / "examples" / "web-config.yml"),
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        import ssl

        context = ssl.create_default_context(cafile=str(ROOT / "examples/tls/server.crt"))
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{url}/metrics", timeout=1, context=context)
            except urllib.error.HTTPError:
                break  # it answers, and refuses a request without credentials
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        for path in ("/", "/metrics"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(url + path, timeout=5, context=context)
            assert refused.value.code == 401
            request = urllib.request.Request(
                url + path, headers={"Authorization": "Bearer sidecar-token-5e1"}
            )
            with urllib.request.urlopen(request, timeout=5, context=context) as response:
                assert response.status == 200
    finally:
        process.terminate()
        _, err = process.communicate(timeout=20)
    assert "sidecar-token-5e1" not in err
