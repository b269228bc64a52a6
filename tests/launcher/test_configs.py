"""The files the launcher generates: derived from the repository's own, accepted by the real
tools (promtool, amtool, the sidecar's --config.check), and changed only where they must."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmscope_stack.configs import write_all
from llmscope_stack.rulescale import scaled
from llmscope_stack.settings import ROOT, Ports, Settings, from_environment
from testkit.realservers import AMTOOL, PROMTOOL, require

PORTS = Ports(18465, 18466, 19090, 19093, 19097)


def settings(tmp_path: Path, **environ: str) -> Settings:
    return from_environment({"LLMSCOPE_DATA": str(tmp_path), **environ}, ports=PORTS)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("interval", ["15s", "500ms"])
def test_the_real_tools_accept_every_generated_file(tmp_path: Path, interval: str) -> None:
    out = write_all(settings(tmp_path, MONITORING_INTERVAL=interval, LLMSCOPE_API_KEY="t0ken"))
    prom = run(require(PROMTOOL), "check", "config", str(out.prometheus))
    assert prom.returncode == 0, prom.stdout + prom.stderr
    shipped = len(list((ROOT / "prometheus" / "rules").glob("*.yml")))
    assert f"SUCCESS: {shipped} rule files found" in prom.stdout
    am = run(require(AMTOOL), "check-config", str(out.alertmanager))
    assert am.returncode == 0, am.stdout + am.stderr
    spc = run(sys.executable, "-m", "spc_rules", f"--config.file={out.spc}", "--config.check")
    assert spc.returncode == 0, spc.stderr


def test_at_the_default_cadence_the_shipped_files_run_as_they_are(tmp_path: Path) -> None:
    out = write_all(settings(tmp_path))
    prom = load(out.prometheus)
    shipped = load(ROOT / "prometheus" / "prometheus.yml")
    assert prom["rule_files"] == [str(ROOT / "prometheus" / "rules" / "*.yml")]
    assert prom["global"] == shipped["global"]
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    assert jobs["llmscope-exporter"]["static_configs"] == [{"targets": ["127.0.0.1:18465"]}]
    assert jobs["llmscope-spc"]["static_configs"] == [{"targets": ["127.0.0.1:18466"]}]
    assert jobs["llmscope-exporter"]["scrape_interval"] == "10s"
    assert "authorization" not in jobs["llmscope-exporter"]
    assert prom["alerting"]["alertmanagers"] == [
        {"static_configs": [{"targets": ["127.0.0.1:19093"]}]}
    ]
    am = load(out.alertmanager)
    assert (
        am["route"]["group_interval"]
        == load(ROOT / "alertmanager" / "alertmanager.yml")["route"]["group_interval"]
    )
    hooks = [h["url"] for r in am["receivers"] for h in r.get("webhook_configs", [])]
    assert hooks and set(hooks) == {"http://127.0.0.1:19097/"}
    assert am["templates"] == [str(ROOT / "alertmanager" / "templates" / "*.tmpl")]
    assert load(out.spc) == load(ROOT / "spc_rules" / "data" / "default.yml")
    assert not (tmp_path / "config" / "api-key").exists()


def test_a_short_interval_compresses_the_whole_timeline(tmp_path: Path) -> None:
    out = write_all(settings(tmp_path, MONITORING_INTERVAL="500ms"))  # 30 times faster
    prom = load(out.prometheus)
    assert prom["global"]["evaluation_interval"] == "500ms"
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    assert (
        jobs["llmscope-exporter"]["scrape_interval"],
        jobs["llmscope-exporter"]["scrape_timeout"],
    ) == (
        "333ms",
        "333ms",
    )

    def alerts(folder: Path) -> dict[str, dict[str, Any]]:
        return {
            r["alert"]: r
            for path in folder.glob("*.yml")
            for g in load(path)["groups"]
            for r in g["rules"]
            if "alert" in r
        }

    copies, shipped = alerts(tmp_path / "config" / "rules"), alerts(ROOT / "prometheus" / "rules")
    waits = [(n, k) for n, r in shipped.items() for k in ("for", "keep_firing_for") if k in r]
    assert waits  # the shipped rules do wait somewhere
    for name, key in waits:
        assert copies[name][key] == scaled(shipped[name][key], 1 / 30), (name, key)
    assert scaled("1m", 1 / 30) == "2000ms"
    spc = load(out.spc)["global"]
    assert (spc["interval"], spc["evaluation"], spc["hold"]) == ("1000ms", "120000ms", "10000ms")
    charts = {c["name"]: c for c in load(out.spc)["charts"]}
    assert charts["probe_errors"]["subgroup"] == "10000ms"  # 20 probes, as 5m at 15 s
    am = load(out.alertmanager)["route"]
    assert (am["group_wait"], am["group_interval"]) == ("1000ms", "10000ms")


def test_the_token_goes_to_a_private_file_that_prometheus_sends(tmp_path: Path) -> None:
    out = write_all(settings(tmp_path, LLMSCOPE_API_KEY="s3cret-token"))
    token = tmp_path / "config" / "api-key"
    assert token.read_text() == "s3cret-token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    jobs = {j["job_name"]: j for j in load(out.prometheus)["scrape_configs"]}
    for job in ("llmscope-exporter", "llmscope-spc"):
        assert jobs[job]["authorization"] == {"type": "Bearer", "credentials_file": str(token)}
    assert "authorization" not in jobs["prometheus"]
    assert "s3cret" not in out.prometheus.read_text()


def test_scaled_durations() -> None:
    assert scaled("1m", 1 / 30) == "2000ms"
    assert scaled("5m", 1.0) == "5m"
    assert scaled("1ms", 0.1) == "1ms"
    with pytest.raises(ValueError, match="bad duration"):
        scaled("soon", 0.5)
