"""Render collectors the way /metrics does, read the text back, and lint it with promtool."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.collectors.health import DescribedCollector

Key = tuple[str, frozenset[tuple[str, str]]]


def render(*collectors: DescribedCollector) -> str:
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry).decode()


def samples(text: str) -> dict[Key, float]:
    """Every sample as {(sample name, labels): value}."""
    found: dict[Key, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, frozenset(s.labels.items()))] = s.value
    return found


def types(text: str) -> dict[str, str]:
    return {f.name: f.type for f in text_string_to_metric_families(text)}


def value(found: dict[Key, float], metric: str, /, **labels: str) -> float:
    return found[(metric, frozenset(labels.items()))]


def names(found: dict[Key, float]) -> set[str]:
    return {name for name, _ in found}


def promtool_findings(text: str) -> str:
    """What ``promtool check metrics`` says about the text ('' when it has nothing to say)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian package prometheus)")
    done = subprocess.run(
        [promtool, "check", "metrics"],
        input=text.encode(),
        check=False,
        capture_output=True,
        timeout=30,
    )
    output = (done.stdout + done.stderr).decode().strip()
    return output if output or done.returncode == 0 else f"exit status {done.returncode}"
