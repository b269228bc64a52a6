"""Static checks of compose.yaml against the repository, prometheus/prometheus.yml,
alertmanager/alertmanager.yml, Grafana's provisioning and docs/deploy.md.

No Docker engine may run here, so ``docker compose config`` is not available: the file is
read with PyYAML (merge keys included) and Compose's ``${VAR:-default}`` defaults.
"""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.parse
from typing import Any

import pytest
import yaml

from exporter import cli as exporter_cli
from spc_rules import cli as spc_cli
from tests.stack import compose
from tests.stack.compose import flag, mounts, published, with_defaults
from tests.stack.dashboards import ROOT

STACK = compose.load()
SERVICES: dict[str, dict[str, Any]] = STACK["services"]
# The port each service listens on, as docs/deploy.md documents it; the webhook is internal.
PUBLISHED = {
    "exporter": 8465,
    "spc": 8466,
    "prometheus": 9090,
    "alertmanager": 9093,
    "grafana": 3000,
}
LISTENS = {**PUBLISHED, "webhook": 5001}
DEPLOY_DOC = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def _yaml(path: str) -> Any:
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


def _args(service: str) -> list[str]:
    return [with_defaults(str(a)) for a in SERVICES[service].get("command", [])]


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def _mount_target(service: str, source: str) -> str:
    (target,) = [m.target for m in mounts(SERVICES[service]) if m.source == source]
    return target


def test_compose_brings_up_the_whole_stack() -> None:
    assert set(SERVICES) == set(LISTENS)


@pytest.mark.parametrize("name", sorted(LISTENS))
def test_every_service_has_an_image_or_build_that_exists(name: str) -> None:
    service = SERVICES[name]
    assert "image" in service or "build" in service, name
    if "build" in service:
        build = service["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).is_file(), name
    else:
        image, _, tag = service["image"].partition(":")
        assert tag and tag != "latest", f"{name}: pin {image} to a version"


@pytest.mark.parametrize("name", sorted(LISTENS))
def test_every_mounted_host_path_exists_and_config_is_read_only(name: str) -> None:
    declared = set(STACK.get("volumes") or {})
    for mount in mounts(SERVICES[name]):
        if mount.is_bind:
            assert mount.host_path().exists(), f"{name}: {mount.source} is not in the repository"
            assert mount.host_path().is_relative_to(ROOT), f"{name}: {mount.source}"
            assert mount.read_only, f"{name}: mount configuration read-only ({mount.source})"
        else:
            assert mount.source in declared, f"{name}: named volume {mount.source} undeclared"


def test_every_named_volume_is_used() -> None:
    used = {m.source for s in SERVICES.values() for m in mounts(s) if not m.is_bind}
    assert used == set(STACK["volumes"])


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_ports_are_the_documented_ones(name: str) -> None:
    (port,) = published(SERVICES[name])
    assert port.host_port == port.container_port == PUBLISHED[name], name
    assert port.host_ip == "127.0.0.1", f"{name}: publish on loopback by default"
    row = re.search(rf"^\|\s*`?{name}`?\s*\|\s*{PUBLISHED[name]}\s*\|", DEPLOY_DOC, re.M)
    assert row, f"docs/deploy.md has no port row for {name} ({PUBLISHED[name]})"


def test_the_webhook_is_internal_and_listens_on_its_port() -> None:
    webhook = SERVICES["webhook"]
    assert "ports" not in webhook
    assert [str(p) for p in webhook["expose"]] == [str(LISTENS["webhook"])]
    assert compose.environment(webhook)["WEBHOOK_PORT"] == str(LISTENS["webhook"])


@pytest.mark.parametrize("name", ["exporter", "spc", "prometheus", "alertmanager"])
def test_services_listen_on_their_port(name: str) -> None:
    address = flag(_args(name), "--web.listen-address")
    assert address is not None, name
    assert _host_port(address) == ("", LISTENS[name]), name


def test_prometheus_scrapes_the_compose_services() -> None:
    config = _yaml("prometheus/prometheus.yml")
    addresses = [
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    ]
    addresses += [
        target
        for am in config["alerting"]["alertmanagers"]
        for static in am["static_configs"]
        for target in static["targets"]
    ]
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert {"llmscope-exporter", "llmscope-spc"} <= jobs
    seen = set()
    for address in addresses:
        host, port = _host_port(address)
        host = "prometheus" if host == "localhost" else host  # it scrapes itself
        assert host in SERVICES, f"prometheus.yml targets {address}: no such service"
        assert port == LISTENS[host], (
            f"prometheus.yml targets {address}: {host} listens on {LISTENS[host]}"
        )
        seen.add(host)
    assert {"exporter", "spc", "alertmanager", "prometheus"} <= seen


def test_alertmanager_webhooks_reach_the_compose_webhook() -> None:
    config = _yaml("alertmanager/alertmanager.yml")
    urls = [
        hook["url"]
        for receiver in config["receivers"]
        for hook in receiver.get("webhook_configs", [])
    ]
    assert urls
    for url in urls:
        parsed = urllib.parse.urlsplit(url)
        assert (parsed.hostname, parsed.port) == ("webhook", LISTENS["webhook"]), url


def test_prometheus_and_alertmanager_read_the_mounted_files() -> None:
    config = flag(_args("prometheus"), "--config.file")
    assert config == _mount_target("prometheus", "./prometheus/prometheus.yml")
    rules = _mount_target("prometheus", "./prometheus/rules")
    config_dir = config.rsplit("/", 1)[0]
    for pattern in _yaml("prometheus/prometheus.yml")["rule_files"]:
        # Rule paths are relative to the configuration file's directory.
        assert f"{config_dir}/{pattern}".startswith(rules + "/"), pattern
    am_config = flag(_args("alertmanager"), "--config.file")
    am_dir = _mount_target("alertmanager", "./alertmanager")
    assert am_config == f"{am_dir}/alertmanager.yml"
    for pattern in _yaml("alertmanager/alertmanager.yml").get("templates", []):
        assert (ROOT / "alertmanager" / pattern).parent.is_dir(), pattern


def test_grafana_provisioning_points_at_the_stack() -> None:
    sources = _yaml("grafana/provisioning/datasources/prometheus.yml")["datasources"]
    by_type = {s["type"]: urllib.parse.urlsplit(s["url"]) for s in sources}
    assert (by_type["prometheus"].hostname, by_type["prometheus"].port) == ("prometheus", 9090)
    assert (by_type["alertmanager"].hostname, by_type["alertmanager"].port) == (
        "alertmanager",
        9093,
    )
    (provider,) = _yaml("grafana/provisioning/dashboards/llmscope.yml")["providers"]
    assert provider["options"]["path"] == _mount_target("grafana", "./grafana/dashboards")
    for kind in ("datasources", "dashboards"):
        target = _mount_target("grafana", f"./grafana/provisioning/{kind}")
        assert target == f"/etc/grafana/provisioning/{kind}"
    env = compose.environment(SERVICES["grafana"])
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] or ""
    mounted = provider["options"]["path"]
    assert home.startswith(mounted + "/")
    assert (ROOT / "grafana" / "dashboards" / home.removeprefix(mounted + "/")).is_file()


def test_grafana_admin_password_comes_from_the_environment() -> None:
    env = compose.environment(SERVICES["grafana"])
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == "${GRAFANA_ADMIN_PASSWORD:-changeme}"
    assert "GRAFANA_ADMIN_PASSWORD" in DEPLOY_DOC and "change me" in DEPLOY_DOC


def test_api_keys_pass_through_only_when_set() -> None:
    # A bare name passes the shell's variable if set and leaves it unset otherwise; an
    # empty value would make a target send an empty key instead of staying idle.
    env = compose.environment(SERVICES["exporter"])
    keys = {k: v for k, v in env.items() if k.endswith(("_API_KEY", "_ACCESS_KEY"))}
    assert "OPENAI_API_KEY" in keys
    assert all(v is None for v in keys.values()), keys


@pytest.mark.parametrize("name", sorted(LISTENS))
def test_every_service_restarts_and_has_a_healthcheck(name: str) -> None:
    service = SERVICES[name]
    assert service.get("restart") in ("unless-stopped", "always"), name
    test = service.get("healthcheck", {}).get("test")
    assert test and test[0] == "CMD", f"{name}: healthcheck in exec form"


def test_dependencies_exist_wait_for_health_and_do_not_cycle() -> None:
    graph = {name: dict(s.get("depends_on") or {}) for name, s in SERVICES.items()}
    for name, deps in graph.items():
        for dep, spec in deps.items():
            assert dep in SERVICES, f"{name} depends on unknown {dep}"
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dep], f"{name} waits for {dep}'s health"
    assert graph["spc"]["prometheus"]["condition"] == "service_healthy"
    assert graph["grafana"]["prometheus"]["condition"] == "service_healthy"

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, f"dependency cycle: {' -> '.join((*path, node))}"
        for dep in graph[node]:
            visit(dep, (*path, node))

    for name in graph:
        visit(name, ())


def test_llmscope_commands_are_valid_flags_of_the_real_clis() -> None:
    exporter = exporter_cli.parser().parse_args(_args("exporter"))
    assert exporter.config_file == _mount_target("exporter", "./examples/llmscope.yml")
    spc = spc_cli.parser().parse_args(_args("spc"))
    url = urllib.parse.urlsplit(spc.prometheus_url)
    assert (url.hostname, url.port) == ("prometheus", LISTENS["prometheus"])


def test_the_mounted_example_config_is_valid() -> None:
    (mount,) = [m for m in mounts(SERVICES["exporter"]) if m.target.endswith("llmscope.yml")]
    result = subprocess.run(
        [sys.executable, "-m", "exporter", f"--config.file={mount.host_path()}", "--config.check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
