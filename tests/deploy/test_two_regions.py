"""examples/two-regions/kubernetes: one overlay per region, rendered with kustomize and checked
against the shipped manifests; each region's exporter carries its own valid vantage."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from exporter.metrics import vantage
from tests.deploy.schemas import problems
from tests.deploy.test_kubernetes import KUSTOMIZATION, ROOT, by_kind, render

REGIONS = ROOT / "examples" / "two-regions" / "kubernetes"
Object = dict[str, Any]


@pytest.fixture(scope="module")
def base() -> list[Object]:
    return render(KUSTOMIZATION)


@pytest.fixture(scope="module")
def regions() -> dict[str, list[Object]]:
    return {region: render(REGIONS / region) for region in ("eu-west-1", "us-east-1")}


def exporter_env(docs: list[Object]) -> list[dict[str, Any]]:
    (deployment,) = [
        d for d in by_kind(docs, "Deployment") if d["metadata"]["name"] == "llmscope-exporter"
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env: list[dict[str, Any]] = container["env"]
    return env


def vantage_of(docs: list[Object]) -> str:
    (entry,) = [e for e in exporter_env(docs) if e["name"] == vantage.ENV]
    value: str = entry["value"]  # a literal: valueFrom a pod field would change with the pod
    return value


def keyed(docs: list[Object], region_vantage: str | None = None) -> dict[tuple[str, str], Object]:
    """Objects by kind and name, the exporter's vantage set to ``region_vantage``."""
    out = {}
    for doc in copy.deepcopy(docs):
        key = (doc["kind"], doc["metadata"]["name"])
        if region_vantage is not None and key == ("Deployment", "llmscope-exporter"):
            for entry in exporter_env([doc]):
                if entry["name"] == vantage.ENV:
                    entry["value"] = region_vantage
        out[key] = doc
    return out


def test_the_shipped_exporter_names_a_stable_valid_vantage(base: list[Object]) -> None:
    value = vantage_of(base)
    assert vantage.resolve(None, {vantage.ENV: value}) == value


def test_each_region_renders_valid_objects_with_its_own_vantage(
    regions: dict[str, list[Object]],
) -> None:
    for region, docs in regions.items():
        assert [p for doc in docs for p in problems(doc)] == [], region
        assert vantage_of(docs) == region
        assert vantage.resolve(None, {vantage.ENV: region}) == region


def test_the_main_region_is_the_whole_stack_with_only_the_vantage_changed(
    base: list[Object], regions: dict[str, list[Object]]
) -> None:
    assert keyed(regions["eu-west-1"]) == keyed(base, "eu-west-1")


def test_the_second_region_runs_the_shipped_exporter_alone(
    base: list[Object], regions: dict[str, list[Object]]
) -> None:
    second = keyed(regions["us-east-1"])
    shipped = keyed(base, "us-east-1")
    assert {kind for kind, _ in second} == {
        "Namespace",
        "ConfigMap",
        "Deployment",
        "Service",
        "ServiceMonitor",
    }
    assert [name for kind, name in second if kind == "Deployment"] == ["llmscope-exporter"]
    for key, doc in second.items():
        assert doc == shipped[key], key  # the same image, config, hardening and scrape job


def test_each_region_passes_the_real_exporters_check(
    regions: dict[str, list[Object]], tmp_path: Path
) -> None:
    for region, docs in regions.items():
        (config_map,) = [
            m
            for m in by_kind(docs, "ConfigMap")
            if m["metadata"]["name"].startswith("llmscope-exporter-config")
        ]
        path = tmp_path / f"{region}.yml"
        path.write_text(config_map["data"]["llmscope.yml"])
        check = subprocess.run(
            [sys.executable, "-m", "exporter", f"--config.file={path}", "--config.check"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, vantage.ENV: vantage_of(docs)},
        )
        assert check.returncode == 0, check.stderr
