"""The command line: exit codes, --config.check, idle targets, the landing page."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testkit.realservers import http_get
from tests.exporter.exporter_process import exporter_process


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        env=env,
    )


def test_config_check_accepts_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "ok.yml"
    path.write_text("targets: [{name: a, provider: simulated, model: m}]\n")
    result = run_cli("--config.file", str(path), "--config.check")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == f"{path}: valid, 1 target"


def test_config_check_names_idle_targets_and_tells_unset_from_empty(tmp_path: Path) -> None:
    path = tmp_path / "keys.yml"
    path.write_text(
        "targets:\n"
        "  - {name: unset, provider: anthropic, model: m, api_key_env: LLMSCOPE_T_UNSET}\n"
        "  - {name: empty, provider: anthropic, model: m, api_key_env: LLMSCOPE_T_EMPTY}\n"
        "  - {name: keyed, provider: anthropic, model: m, api_key_env: LLMSCOPE_T_KEY}\n"
    )
    env = {"PATH": "/usr/bin:/bin", "LLMSCOPE_T_EMPTY": " ", "LLMSCOPE_T_KEY": "sk-x"}
    result = run_cli("--config.file", str(path), "--config.check", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{path}: valid, 3 targets"
    assert "target unset will be idle: environment variable LLMSCOPE_T_UNSET is not set" in lines
    assert "target empty will be idle: environment variable LLMSCOPE_T_EMPTY is empty" in lines
    assert not any(line.startswith("target keyed will be idle") for line in lines)
    assert "sk-x" not in result.stdout + result.stderr


def test_config_error_exits_2_with_one_line_per_problem_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(
        "targets:\n  - {name: a, provider: simulated, model: m, interval: 3x}\n"
        "  - {name: a, provider: simulated, model: m}\n"
    )
    for extra in ((), ("--config.check",)):
        result = run_cli("--config.file", str(path), *extra)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 2, result.stderr
        assert all(line.startswith("llmscope-exporter: config error: ") for line in lines)
        assert "Traceback" not in result.stderr


def test_bad_listen_address_is_one_line() -> None:
    result = run_cli("--web.listen-address", "nowhere")
    assert result.returncode == 1
    assert 'bad listen address \\"nowhere\\"' in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_missing_key_leaves_target_idle_and_others_run(tmp_path: Path) -> None:
    path = tmp_path / "cfg.yml"
    path.write_text("""
targets:
  - {name: needs-key, provider: openai, base_url: "http://127.0.0.1:9/v1", model: m,
     api_key_env: LLMSCOPE_TEST_UNSET_KEY}
  - {name: sim, provider: simulated, model: m, interval: 200ms, ttft: 5ms, max_tokens: 2}
""")
    with exporter_process(path, tmp_path) as exporter:
        text = exporter.wait_for_probes("sim", 2)
        idle = "llmscope_target_idle"
        assert exporter.value(idle, text, reason="missing_api_key", target="needs-key") == 1.0
        assert exporter.value(idle, text, reason="missing_api_key", target="sim") == 0.0
        assert exporter.value("llmscope_probes_total", text, target="needs-key") == 0.0
        log = exporter.log()
        assert log.count("LLMSCOPE_TEST_UNSET_KEY is not set") == 1


def test_landing_page_links_metrics_and_builtin_config_runs(tmp_path: Path) -> None:
    with exporter_process(None, tmp_path, env={"MONITORING_INTERVAL": "300ms"}) as exporter:
        page = http_get(exporter.url + "/").decode()
        assert '<a href="/metrics">' in page
        text = exporter.wait_for_value("llmscope_probe_success", 1.0, target="simulated-small")
        assert "llmscope_build_info" in text


def test_published_dev_token_is_refused_unless_allowed(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "LLMSCOPE_API_KEY": "dev-123"}
    result = run_cli("--config.check", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "LLMSCOPE_API_KEY" in lines[0] and "--web.allow-dev-token" in lines[0]
    assert "Traceback" not in result.stderr
    allowed = run_cli("--config.check", "--web.allow-dev-token", env=env)
    assert allowed.returncode == 0


def test_bearer_token_protects_metrics_and_landing_page(tmp_path: Path) -> None:
    import urllib.error
    import urllib.request

    with exporter_process(None, tmp_path, env={"LLMSCOPE_API_KEY": "s3cret-token-1"}) as exp:
        for path in ("/", "/metrics"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                http_get(exp.url + path)
            assert refused.value.code == 401
            request = urllib.request.Request(
                exp.url + path, headers={"Authorization": "Bearer s3cret-token-1"}
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 200
        assert "s3cret-token-1" not in exp.log()
