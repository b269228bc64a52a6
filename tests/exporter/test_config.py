"""The config error table: each bad file and the exact lines it must produce."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest

from exporter.config.loader import default_interval
from exporter.configfile import builtin_config, load_file, load_text
from exporter.providers.openai import OpenAIOptions
from exporter.providers.simulated import Scenario, SimulatedOptions
from servicekit.errors import ConfigError

GOOD = """\
global: {interval: 15s, timeout: 30s}
targets:
  - name: openai-mini
    provider: openai
    base_url: https://api.openai.com/v1/
    model: gpt-4o-mini
    api_key_env: OPENAI_API_KEY
    interval: 30s
    max_tokens: 32
    prompt: "Count from 1 to 20."
  - name: sim
    provider: simulated
    model: sim-1
    seed: 7
    ttft: 120ms
    scenario: {kind: mean_shift, after: 10m, factor: 3}
"""


def load(text: str, environ: dict[str, str] | None = None) -> object:
    return load_text(textwrap.dedent(text), "t.yml", environ or {})


def errors_of(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(text, environ)
    return str(info.value).splitlines()


def test_good_config_is_typed_and_frozen() -> None:
    config = load_text(GOOD, "t.yml", {})
    openai, sim = config.targets
    assert openai.interval == 30.0 and openai.timeout == 30.0
    assert openai.base_url == "https://api.openai.com/v1"  # trailing slash dropped
    assert openai.api_key_env == "OPENAI_API_KEY"
    assert openai.options == OpenAIOptions(include_usage=True, max_tokens_field="max_tokens")
    assert sim.interval == 15.0  # from global
    assert sim.options == SimulatedOptions(
        seed=7, ttft=0.12, scenario=Scenario(kind="mean_shift", after=600.0, factor=3.0)
    )
    with pytest.raises(AttributeError):
        openai.interval = 1.0  # type: ignore[misc]


BAD_FILES = [
    pytest.param(
        """\
        global:
          interval: 3x
          colour: blue
        targets:
          - {name: a, provider: simulated, model: m}
        """,
        [
            't.yml:2: global.interval: bad duration "3x" (use e.g. 250ms, 15s, 1m30s, 2h)',
            't.yml:3: global.colour: unknown key "colour" (known: canary_state_file, collectors, '
            "interval, max_body_bytes, max_concurrency, stall_timeout, timeout)",
        ],
        id="bad-duration-and-unknown-global-key",
    ),
    pytest.param(
        """\
        targets:
          - name: a
            provider: simulated
            model: m
          - name: a
            provider: simulated
            model: n
        """,
        ['t.yml:5: targets[1].name: duplicate target name "a" (first at line 2)'],
        id="duplicate-name",
    ),
    pytest.param(
        """\
        targets:
          - name: a
            provider: openai
            base_url: http://x/v1
            model: m
            api_key: sk-live-should-never-echo
        """,
        [
            "t.yml:6: targets[0].api_key: API keys are not accepted in the config file; put "
            "the key in an environment variable and name that variable in api_key_env"
        ],
        id="literal-key-refused-without-echo",
    ),
    pytest.param(
        """\
        targets:
          - name: a
            provider: nope
            model: m
        """,
        [
            't.yml:3: targets[0].provider: unknown provider "nope" (known: anthropic, '
            "azure_openai, bedrock, gemini, ollama, openai, simulated)"
        ],
        id="unknown-provider-lists-kinds",
    ),
    pytest.param(
        """\
        targets:
          - provider: openai
            model: m
        """,
        [
            "t.yml:2: targets[0].name: required",
            "t.yml:2: targets[0].base_url: required (e.g. https://api.openai.com/v1)",
        ],
        id="missing-name-and-base-url",
    ),
    pytest.param(
        """\
        targets:
          - name: a
            provider: simulated
            model: m
            max_tokens: 0
            interval: 0s
            connection: cold
        """,
        [
            "t.yml:5: targets[0].max_tokens: must be at least 1, got 0",
            "t.yml:6: targets[0].interval: duration must be greater than zero",
            't.yml:7: targets[0].connection: unknown value "cold" (known: fresh, keepalive)',
        ],
        id="out-of-range-values",
    ),
    pytest.param(
        """\
        targets:
          - name: a
            provider: simulated
            model: m
            scenario: {kind: meteor}
        """,
        [
            't.yml:5: targets[0].scenario.kind: unknown value "meteor" '
            "(known: drift, mean_shift, model_swap, outage, variance)"
        ],
        id="bad-scenario",
    ),
    pytest.param(
        "targets: []\n", ["t.yml:1: targets: at least one target is required"], id="no-targets"
    ),
    pytest.param(
        "global: {}\n", ["t.yml:1: targets: at least one target is required"], id="targets-missing"
    ),
    pytest.param("- a\n- b\n", ["t.yml:1: expected a mapping, got a list"], id="not-a-mapping"),
    pytest.param(
        "targets: [\n",
        ["t.yml:2: invalid YAML: expected the node content, but found '<stream end>'"],
        id="yaml-syntax",
    ),
    pytest.param("", ["t.yml:1: the file is empty"], id="empty-file"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_FILES)
def test_bad_config_reports_every_problem_with_path_and_line(
    text: str, expected: list[str]
) -> None:
    assert errors_of(text) == expected


def test_literal_key_value_never_appears_in_the_error() -> None:
    text = "targets:\n  - {name: a, provider: simulated, model: m, api_key: sk-CANARY-42}\n"
    assert "sk-CANARY-42" not in "\n".join(errors_of(text))


def test_unreadable_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.yml: cannot read config file: No such file"):
        load_file(tmp_path / "missing.yml")


@pytest.mark.parametrize(
    ("raw", "seconds"), [("", 15.0), ("15s", 15.0), ("1m30s", 90.0), ("45", 45.0), ("2.5", 2.5)]
)
def test_monitoring_interval_sets_the_default(raw: str, seconds: float) -> None:
    assert default_interval({"MONITORING_INTERVAL": raw}) == seconds
    config = builtin_config({"MONITORING_INTERVAL": raw})
    assert all(math.isclose(t.interval, seconds) for t in config.targets)


@pytest.mark.parametrize("raw", ["abc", "0s", "-5"])
def test_bad_monitoring_interval_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError, match="MONITORING_INTERVAL"):
        default_interval({"MONITORING_INTERVAL": raw})


def test_builtin_default_needs_no_keys() -> None:
    config = builtin_config({})
    assert config.targets
    assert {t.provider for t in config.targets} == {"simulated"}
    assert all(t.api_key_env is None for t in config.targets)


def test_gpu_sample_interval_has_a_floor() -> None:
    text = """\
    global: {collectors: {gpu: {sample_interval: 1ms}}}
    targets: [{name: a, provider: simulated, model: m}]
    """
    assert errors_of(text) == [
        "t.yml:1: global.collectors.gpu.sample_interval: must be at least 10ms"
    ]


def test_rapl_collector_switch() -> None:
    text = """\
    global: {collectors: {rapl: {enabled: false, zone: x}}}
    targets: [{name: a, provider: simulated, model: m}]
    """
    assert errors_of(text) == [
        't.yml:1: global.collectors.rapl.zone: unknown key "zone" (known: enabled)'
    ]


def test_a_key_pasted_into_api_key_env_is_refused_without_echo() -> None:
    text = """\
    targets:
      - {name: a, provider: openai, base_url: "http://x/v1", model: m,
         api_key_env: sk-proj-PASTED-KEY-123}
    """
    (line,) = errors_of(text)
    assert line.startswith("t.yml:3: targets[0].api_key_env: must be the NAME of an environment")
    assert "PASTED" not in line


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("!foo 15s", "t.yml:2: targets[0].interval: cannot read this value: "),
        ("!!int abc", "t.yml:2: targets[0].interval: cannot read this value: "),
    ],
)
def test_bad_yaml_tags_are_config_errors_not_crashes(value: str, expected: str) -> None:
    text = f"targets:\n  - {{name: a, provider: simulated, model: m, interval: {value}}}\n"
    (line,) = errors_of(text)
    assert line.startswith(expected)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "api.openai.com/v1",
            "'api.openai.com/v1' has no scheme (write http:// or https:// before the host)",
        ),
        (
            "ftp://files.example.com/v1",
            "'ftp://files.example.com/v1' has the scheme ftp://, but only http:// and "
            "https:// are probed",
        ),
        (
            '"https://api.openai.com/v1 "',
            "'https://api.openai.com/v1 ' has leading or trailing whitespace",
        ),
        (
            "http://localhost:99999/v1",
            "'http://localhost:99999/v1' is malformed: Port out of range 0-65535",
        ),
        ("https:///v1", "'https:///v1' has no host"),
    ],
    ids=["no-scheme", "ftp", "trailing-space", "port-out-of-range", "no-host"],
)
def test_base_url_no_probe_could_request_is_refused_at_check(value: str, message: str) -> None:
    text = f"targets:\n  - name: a\n    provider: openai\n    model: m\n    base_url: {value}\n"
    assert errors_of(text) == [f"t.yml:5: targets[0].base_url: {message}"]


def test_builtin_config_adds_a_provider_target_only_when_its_key_is_set() -> None:
    no_ollama = lambda url: None  # noqa: E731
    assert [t.name for t in builtin_config({}, no_ollama).targets] == [
        "simulated-small",
        "simulated-large",
    ]
    config = builtin_config({"OPENAI_API_KEY": "sk-x", "GEMINI_API_KEY": " "}, no_ollama)
    openai = config.targets[-1]
    assert [t.name for t in config.targets] == ["simulated-small", "simulated-large", "openai"]
    assert (openai.provider, openai.model, openai.api_key_env) == (
        "openai",
        "gpt-4o-mini",
        "OPENAI_API_KEY",
    )
