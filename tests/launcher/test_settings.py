"""The launcher's settings: documented environment variables, every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmscope_stack.settings import ROOT, Ports, from_environment
from servicekit.errors import ConfigError


def test_defaults_follow_the_readme() -> None:
    s = from_environment({})
    assert (s.interval, s.retention_days, s.api_key, s.scale) == (15.0, 7, None, 1.0)
    assert s.data == ROOT / "data"
    assert s.ports == Ports(8465, 8466, 9090, 9093, 9097)


def test_settings_from_the_environment(tmp_path: Path) -> None:
    s = from_environment(
        {
            "MONITORING_INTERVAL": "500ms",
            "DATA_RETENTION_DAYS": "30",
            "LLMSCOPE_API_KEY": "secret-token",
            "LLMSCOPE_DATA": str(tmp_path / "d"),
        }
    )
    assert (s.interval, s.retention_days, s.api_key, s.data) == (
        0.5,
        30,
        "secret-token",
        tmp_path / "d",
    )
    assert s.scale == pytest.approx(1 / 30)
    # A slower cadence never stretches the timeline past the shipped one; bare seconds work
    # as the exporter reads them.
    assert from_environment({"MONITORING_INTERVAL": "60"}).scale == 1.0


def test_every_problem_is_reported_at_once_without_the_secret(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError) as err:
        from_environment(
            {
                "MONITORING_INTERVAL": "fast",
                "DATA_RETENTION_DAYS": "a week",
                "LLMSCOPE_API_KEY": " ",
                "LLMSCOPE_DATA": str(tmp_path / "file"),
            },
            exporter_config=tmp_path / "missing.yml",
        )
    assert str(err.value).splitlines() == [
        'MONITORING_INTERVAL: bad duration "fast" (use e.g. 250ms, 15s, 1m30s, 2h)',
        'DATA_RETENTION_DAYS: expected a whole number of days, got "a week"',
        "LLMSCOPE_API_KEY: set but empty (unset it to serve without a token)",
        f"LLMSCOPE_DATA: {tmp_path / 'file'} exists and is not a folder",
        f"--config.file: {tmp_path / 'missing.yml'}: no such file",
    ]


def test_too_short_an_interval_and_too_few_days_are_refused() -> None:
    with pytest.raises(ConfigError) as err:
        from_environment({"MONITORING_INTERVAL": "10ms", "DATA_RETENTION_DAYS": "0"})
    assert str(err.value).splitlines() == [
        'MONITORING_INTERVAL: "10ms" is shorter than 100ms',
        "DATA_RETENTION_DAYS: must be at least 1, got 0",
    ]
