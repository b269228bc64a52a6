"""The vantage: which value wins, what is refused, and the label on every series served."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter.metrics.vantage import VantageRegistry, resolve
from servicekit.errors import ConfigError
from tests.exporter.exporter_process import exporter_process, sample


def host() -> str:
    return "probe-host-1"


def test_the_flag_wins_over_the_environment_and_the_environment_over_the_host_name() -> None:
    env = {"LLMSCOPE_VANTAGE": "us-east-1"}
    assert resolve("eu-west-1", env, host) == "eu-west-1"
    assert resolve(None, env, host) == "us-east-1"
    assert resolve(None, {}, host) == "probe-host-1"
    assert resolve(None, {}) == socket.gethostname()


@pytest.mark.parametrize(
    ("flag", "env", "hostname", "message"),
    [
        ("", {}, "h", "vantage from --vantage is empty: use 1 to 253 letters"),
        (None, {"LLMSCOPE_VANTAGE": ""}, "h", "vantage from LLMSCOPE_VANTAGE is empty"),
        (None, {"LLMSCOPE_VANTAGE": "eu west"}, "h", "LLMSCOPE_VANTAGE is 'eu west': use"),
        ('a"b', {}, "h", "vantage from --vantage is 'a\"b'"),
        ("-eu", {}, "h", "starting with a letter or digit"),
        ("x" * 254, {}, "h", "use 1 to 253 letters"),
        (None, {}, "bad host", "from the host name is 'bad host': use"),
        (None, {}, "bad host", "letter or digit (or set --vantage or LLMSCOPE_VANTAGE)"),
    ],
)
def test_a_bad_vantage_is_one_line_naming_its_source(
    flag: str | None, env: dict[str, str], hostname: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(flag, env, lambda: hostname)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_host_kubernetes_node_and_region_names_are_accepted() -> None:
    for name in ("ip-10-0-3-7.eu-west-1.compute.internal", "gke-pool-1_a", "EU-WEST", "x" * 253):
        assert resolve(name, {}, host) == name


class _Reused(Collector):
    """A collector that yields the same Metric object at every scrape."""

    def __init__(self) -> None:
        self.metric = GaugeMetricFamily("reused", "A family kept between scrapes.", labels=["a"])
        self.metric.add_metric(["1"], 1.0)

    def collect(self) -> Iterator[Metric]:
        yield self.metric


def test_the_registry_labels_every_sample_and_leaves_collectors_untouched() -> None:
    registry = VantageRegistry("eu-west-1")
    reused = _Reused()
    registry.register(reused)
    Gauge("plain", "A gauge without labels.", registry=registry).set(2)
    for _ in range(2):
        text = generate_latest(registry).decode()
        assert 'reused{a="1",vantage="eu-west-1"} 1.0' in text
        assert 'plain{vantage="eu-west-1"} 2.0' in text
    assert reused.metric.samples[0].labels == {"a": "1"}
    assert registry.get_sample_value("plain", {"vantage": "eu-west-1"}) == 2.0


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize("check", [("--config.check",), ()])
def test_a_bad_vantage_stops_the_exporter_and_the_check_with_one_line(
    check: tuple[str, ...],
) -> None:
    result = _cli(*check, "--web.listen-address=127.0.0.1:0", env={"LLMSCOPE_VANTAGE": "a b"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "llmscope-exporter: config error: vantage from LLMSCOPE_VANTAGE is 'a b': use 1 to 253 "
        "letters, digits, '.', '_' or '-', starting with a letter or digit"
    ]
    good = _cli("--config.check", "--vantage=eu-west-1", env={"LLMSCOPE_VANTAGE": "a b"})
    assert good.returncode == 0, good.stderr


def test_the_running_exporter_labels_its_series_with_the_flag_over_the_variable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cfg.yml"
    path.write_text(
        "targets: [{name: sim, provider: simulated, model: m, interval: 100ms, ttft: 1ms, "
        "max_tokens: 2}]\n"
    )
    env = {"LLMSCOPE_VANTAGE": "from-env"}
    with exporter_process(path, tmp_path, env, ("--vantage=eu-west-1",)) as exporter:
        text = exporter.wait_for_probes("sim", 1)
        assert sample(text, "llmscope_probes_total", target="sim", vantage="eu-west-1")
        assert sample(text, "llmscope_build_info", vantage="eu-west-1") == 1.0
        assert "from-env" not in text
        assert "vantage eu-west-1" in exporter.log()
    with exporter_process(path, tmp_path, {}) as exporter:
        text = exporter.wait_for_probes("sim", 1)
        assert sample(text, "llmscope_target_info", vantage=socket.gethostname()) == 1.0
