"""examples/two-regions/compose.yaml, the override that runs a second exporter with another
vantage against the stack's one Prometheus: merged with compose.yaml the way Compose merges
files, checked against the repository, and its scrape job run for real against two exporters
whose targets have the same names."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from exporter import cli as exporter_cli
from exporter.metrics import vantage
from testkit.realservers import prometheus
from tests.exporter.exporter_process import exporter_process
from tests.stack import compose
from tests.stack.compose import Mount, flag, mounts, with_defaults
from tests.stack.dashboards import ROOT

EXAMPLE = ROOT / "examples" / "two-regions"
OVERRIDE: dict[str, Any] = yaml.safe_load((EXAMPLE / "compose.yaml").read_text(encoding="utf-8"))
BASE: dict[str, dict[str, Any]] = compose.load()["services"]
PROMETHEUS_FILE = "/etc/prometheus/prometheus.yml"


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """One service of several -f files, as Compose merges them: environment by variable,
    mounts by their target, depends_on by service, anything else replaced."""
    merged = {**base, **over}
    if "environment" in base and "environment" in over:
        env = {**compose.environment(base), **compose.environment(over)}
        merged["environment"] = [k if v is None else f"{k}={v}" for k, v in env.items()]
    if "volumes" in base and "volumes" in over:
        by_target = {m.target: e for m, e in zip(mounts(base), base["volumes"], strict=True)}
        by_target |= {m.target: e for m, e in zip(mounts(over), over["volumes"], strict=True)}
        merged["volumes"] = list(by_target.values())
    if "depends_on" in base and "depends_on" in over:
        merged["depends_on"] = {**base["depends_on"], **over["depends_on"]}
    return merged


SERVICES = {
    name: _merge(BASE.get(name, {}), OVERRIDE["services"].get(name, {}))
    for name in {*BASE, *OVERRIDE["services"]}
}
EXPORTERS = sorted(name for name in SERVICES if name.startswith("exporter"))


def _vantage(service: str) -> str | None:
    value = compose.environment(SERVICES[service]).get(vantage.ENV)
    return None if value is None else with_defaults(value)


def _args(service: str) -> list[str]:
    return [with_defaults(str(a)) for a in SERVICES[service]["command"]]


def _config_mount(service: str) -> Mount:
    (mount,) = [m for m in mounts(SERVICES[service]) if m.target.endswith("llmscope.yml")]
    return mount


def test_two_exporters_probe_from_two_valid_vantages() -> None:
    assert EXPORTERS == ["exporter", "exporter-us-east-1"]
    found = {name: _vantage(name) for name in EXPORTERS}
    assert found == {"exporter": "eu-west-1", "exporter-us-east-1": "us-east-1"}
    for value in found.values():
        assert value is not None and vantage.resolve(None, {vantage.ENV: value}) == value


def test_the_stack_alone_names_a_stable_vantage_that_the_variable_overrides() -> None:
    env = compose.environment(BASE["exporter"])
    assert env[vantage.ENV] == "${LLMSCOPE_VANTAGE:-compose}"
    assert vantage.resolve(None, {vantage.ENV: with_defaults(env[vantage.ENV] or "")})


def test_the_second_exporter_runs_as_the_first_does() -> None:
    first, second = (SERVICES[name] for name in EXPORTERS)
    for key in ("build", "image", "restart", "read_only", "tmpfs", "security_opt", "command"):
        assert second[key] == first[key], key
    assert second["healthcheck"]["test"] == first["healthcheck"]["test"]
    assert _config_mount("exporter-us-east-1") == _config_mount("exporter")
    assert _config_mount("exporter-us-east-1").read_only
    keys = {k: v for k, v in compose.environment(second).items() if k.endswith("_KEY")}
    assert keys and all(v is None for v in keys.values()), keys  # passed through when set
    assert set(keys) == {k for k in compose.environment(first) if k.endswith("_KEY")}
    assert "ports" not in second  # scraped on the Compose network; 8465 is the first one's
    args = exporter_cli.parser().parse_args(_args("exporter-us-east-1"))
    assert args.config_file == _config_mount("exporter-us-east-1").target


def test_every_path_the_override_mounts_exists() -> None:
    for name, service in OVERRIDE["services"].items():
        for mount in mounts(service):
            assert mount.is_bind and mount.host_path().is_file(), f"{name}: {mount.source}"
            assert mount.read_only, f"{name}: {mount.source}"


def test_prometheus_scrapes_both_exporters_and_keeps_the_shipped_configuration() -> None:
    (mount,) = [m for m in mounts(SERVICES["prometheus"]) if m.target == PROMETHEUS_FILE]
    assert mount.host_path() == EXAMPLE / "prometheus.yml"
    example = yaml.safe_load(mount.host_path().read_text(encoding="utf-8"))
    shipped = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    (job,) = [j for j in example["scrape_configs"] if j["job_name"] == "llmscope-exporter"]
    (static,) = job["static_configs"]
    listen = {name: flag(_args(name), "--web.listen-address") for name in EXPORTERS}
    assert static["targets"] == [f"{name}{listen[name]}" for name in EXPORTERS]
    static["targets"] = ["exporter:8465"]
    assert example == shipped
    assert SERVICES["prometheus"]["depends_on"]["exporter-us-east-1"]


def test_the_example_configuration_validates_from_each_vantage() -> None:
    for name in EXPORTERS:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "exporter",
                f"--config.file={_config_mount(name).host_path()}",
                f"--vantage={_vantage(name)}",
                "--config.check",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr


def test_one_prometheus_keeps_equal_targets_of_two_vantages_apart(tmp_path: Path) -> None:
    config = tmp_path / "llmscope.yml"
    config.write_text(
        "targets: [{name: shared, provider: simulated, model: m, interval: 200ms, ttft: 5ms, "
        "max_tokens: 2}]\n"
    )
    shipped = (EXAMPLE / "prometheus.yml").read_text(encoding="utf-8")
    (first, second) = (_vantage(name) or "" for name in EXPORTERS)
    with (
        exporter_process(config, tmp_path, args=(f"--vantage={first}",)) as one,
        exporter_process(config, tmp_path, args=(f"--vantage={second}",)) as two,
    ):
        # The example's scrape job with the two exporters' loopback addresses, nothing else.
        scrape = yaml.safe_load(shipped)
        (job,) = [j for j in scrape["scrape_configs"] if j["job_name"] == "llmscope-exporter"]
        job["static_configs"][0]["targets"] = [e.url.removeprefix("http://") for e in (one, two)]
        job["scrape_interval"] = job["scrape_timeout"] = "1s"
        runnable = {"global": {"scrape_interval": "1s"}, "scrape_configs": [job]}
        with prometheus(yaml.safe_dump(runnable)) as prom:
            deadline = time.monotonic() + 30
            rows: list[dict[str, Any]] = []
            while time.monotonic() < deadline:
                rows = prom.query('llmscope_probes_total{target="shared"} > 0')
                if len(rows) == 2:
                    break
                time.sleep(0.3)
    assert sorted(r["metric"]["vantage"] for r in rows) == sorted([first, second])
