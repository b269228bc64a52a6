"""deploy/kubernetes: rendered with kustomize (kubectl kustomize), validated against the
Kubernetes and prometheus-operator schemas, and kept identical to the repository's rules,
routes and dashboards."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.kubegen import alerting
from deploy.kubegen.generate import manifests, stale
from testkit.realservers import require
from tests.deploy.schemas import dropped, problems

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZATION = ROOT / "deploy" / "kubernetes"


class _GoYaml(yaml.SafeLoader):
    """kustomize writes a bare ``=`` (``matchType: =``), which YAML 1.1 resolves to its
    ``value`` tag; Go's YAML and the API server read it as the string "="."""


def _plain(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    assert isinstance(node, yaml.ScalarNode)
    return str(loader.construct_scalar(node))


_GoYaml.add_constructor("tag:yaml.org,2002:value", _plain)


def render(directory: Path) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize`` renders from a kustomization directory."""
    out = subprocess.run(
        [require("kubectl"), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [doc for doc in yaml.load_all(out, Loader=_GoYaml) if doc]


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render(KUSTOMIZATION)


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def test_the_generated_manifests_are_current() -> None:
    assert stale() == [], "run: python -m deploy.kubegen"


def test_the_staleness_check_sees_a_changed_rule(tmp_path: Path) -> None:
    # stale() is only as good as this: an edited rule file must change the manifest.
    text = manifests()["prometheusrule.yaml"]
    assert "LLMscopeSPCDown" in text
    assert text != text.replace("LLMscopeSPCDown", "LLMscopeSPCGone")


def test_every_object_validates_against_its_schema(rendered: list[dict[str, Any]]) -> None:
    kinds = {d["kind"] for d in rendered}
    assert {"Deployment", "Service", "ServiceMonitor", "PrometheusRule"} <= kinds
    assert {"AlertmanagerConfig", "ConfigMap", "Namespace"} <= kinds
    assert [p for doc in rendered for p in problems(doc)] == []


def test_the_validators_reject_a_wrong_object(rendered: list[dict[str, Any]]) -> None:
    monitor = json.loads(json.dumps(by_kind(rendered, "ServiceMonitor")[0]))
    monitor["spec"]["endpoints"][0]["intervall"] = "10s"
    assert problems(monitor) == [
        "ServiceMonitor/llmscope-exporter: spec.endpoints[0].intervall: unknown field"
    ]
    del monitor["spec"]["endpoints"]
    assert "Field required" in problems(monitor)[0]
    deployment = json.loads(json.dumps(by_kind(rendered, "Deployment")[0]))
    deployment["spec"]["replicas"] = "one"
    assert problems(deployment) != []
    assert dropped({"a": {"b": 1, "c": 2}}, {"a": {"b": 1}}, "") == ["a.c"]


def test_the_prometheus_rule_holds_every_shipped_group_unchanged(
    rendered: list[dict[str, Any]],
) -> None:
    (rule,) = by_kind(rendered, "PrometheusRule")
    shipped = [
        group
        for path in sorted((ROOT / "prometheus" / "rules").glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
    ]
    assert rule["spec"]["groups"] == shipped


def test_dashboards_are_config_maps_for_grafanas_sidecar(rendered: list[dict[str, Any]]) -> None:
    maps = [
        m
        for m in by_kind(rendered, "ConfigMap")
        if "grafana_dashboard" in m["metadata"].get("labels", {})
    ]
    files = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
    assert len(maps) == len(files)
    for config_map, path in zip(
        sorted(maps, key=lambda m: m["metadata"]["name"]), files, strict=True
    ):
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        (body,) = config_map["data"].values()
        assert json.loads(body) == json.loads(path.read_text())


def test_the_alertmanager_config_carries_the_shipped_routes(rendered: list[dict[str, Any]]) -> None:
    (config,) = by_kind(rendered, "AlertmanagerConfig")
    shipped = yaml.safe_load((ROOT / "alertmanager" / "alertmanager.yml").read_text())
    route = config["spec"]["route"]
    assert route["groupBy"] == shipped["route"]["group_by"]
    assert [r["receiver"] for r in route["routes"]] == [
        r["receiver"] for r in shipped["route"]["routes"]
    ]
    assert len(config["spec"]["inhibitRules"]) == len(shipped["inhibit_rules"])
    assert alerting.matcher('alertname=~"LLMscopeSPC(A|B)"') == {
        "name": "alertname",
        "value": "LLMscopeSPC(A|B)",
        "matchType": "=~",
    }
    with pytest.raises(ValueError, match="cannot translate matcher"):
        alerting.matcher("severity critical")


def test_the_services_run_locked_down_with_probes_and_resources(
    rendered: list[dict[str, Any]],
) -> None:
    deployments = by_kind(rendered, "Deployment")
    assert {d["metadata"]["name"] for d in deployments} == {"llmscope-exporter", "llmscope-spc"}
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        for probe in ("livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"] == {"path": "/-/healthy", "port": "http"}
        assert container["resources"]["requests"]["cpu"]
        assert container["resources"]["limits"]["memory"]


def test_monitors_select_the_services_and_keep_the_rules_job_names(
    rendered: list[dict[str, Any]],
) -> None:
    services = {s["metadata"]["name"]: s for s in by_kind(rendered, "Service")}
    for monitor in by_kind(rendered, "ServiceMonitor"):
        wanted = monitor["spec"]["selector"]["matchLabels"]
        (service,) = [
            s for s in services.values() if wanted.items() <= s["metadata"]["labels"].items()
        ]
        # jobLabel: the job is the Service's name label, as the alert rules expect.
        job = service["metadata"]["labels"][monitor["spec"]["jobLabel"]]
        assert job == monitor["metadata"]["name"]
        ports = {p["name"] for p in service["spec"]["ports"]}
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= ports


def test_the_exporter_config_map_validates_with_the_real_cli(
    rendered: list[dict[str, Any]], tmp_path: Path
) -> None:
    (config_map,) = [
        m
        for m in by_kind(rendered, "ConfigMap")
        if m["metadata"]["name"].startswith("llmscope-exporter-config")
    ]
    (tmp_path / "llmscope.yml").write_text(config_map["data"]["llmscope.yml"])
    check = subprocess.run(
        [
            sys.executable,
            "-m",
            "exporter",
            f"--config.file={tmp_path / 'llmscope.yml'}",
            "--config.check",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def _images(docs: list[dict[str, Any]]) -> set[str]:
    return {
        c["image"]
        for d in by_kind(docs, "Deployment")
        for c in d["spec"]["template"]["spec"]["containers"]
    }


def test_the_image_is_named_in_one_place_an_estate_points_at_its_registry(
    rendered: list[dict[str, Any]], tmp_path: Path
) -> None:
    assert _images(rendered) == {"llmscope:0.1.0"}
    copy = tmp_path / "kubernetes"
    shutil.copytree(KUSTOMIZATION, copy)
    kustomization = copy / "kustomization.yaml"
    text = kustomization.read_text()
    assert "    newName: llmscope\n" in text  # what the README says to change
    kustomization.write_text(
        text.replace("    newName: llmscope\n", "    newName: registry.example.com/team/llmscope\n")
    )
    out = subprocess.run(
        [require("kubectl"), "kustomize", str(copy)], capture_output=True, text=True, check=True
    ).stdout
    docs = [doc for doc in yaml.load_all(out, Loader=_GoYaml) if doc]
    assert _images(docs) == {"registry.example.com/team/llmscope:0.1.0"}


def test_the_readme_says_to_build_push_and_name_the_image_before_applying() -> None:
    readme = (ROOT / "README.md").read_text()
    steps = [
        "docker build -t REGISTRY/llmscope:0.1.0 .",
        "docker push REGISTRY/llmscope:0.1.0",
        "kustomize edit set image llmscope=REGISTRY/llmscope:0.1.0",
        "kubectl apply -k deploy/kubernetes\n```",
    ]
    places = [readme.find(step) for step in steps]
    assert -1 not in places and places == sorted(places), places
