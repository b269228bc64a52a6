"""The zone lines the sidecar no longer publishes: the recording rules of
prometheus/rules/spc.yml (llmscope.spc.zones), run by a real Prometheus over what the
sidecar publishes, give the zones the sidecar computes (ChartResult.zones) for untransformed,
log (individuals and subgroups) and p charts."""

from __future__ import annotations

import math

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from spc_rules.sidecar.families import ChartView
from spc_rules.sidecar.publish import SidecarCollector
from testkit.backends import backfilled_prometheus
from tests.sidecar.judged import FULL, judged

NOW = 1_800_000_000.0
RULES = "prometheus/rules/spc.yml"
NEEDED = {
    "llmscope_spc_center",
    "llmscope_spc_sigma",
    "llmscope_spc_last_subgroup_size",
    "llmscope_spc_chart_info",
}
LINEAR = FULL.replace("name: full", "name: linear") + "    transform: none\n"
P = "charts:\n  - {name: errors, kind: p, numerator: a_total, denominator: b_total, by: [target]}\n"


def _views() -> dict[str, ChartView]:
    charts = (
        judged(FULL.replace("name: full", "name: logone"), 3, NOW),
        judged(FULL.replace("name: full", "name: logmany"), 3, NOW, sizes="many"),
        judged(LINEAR, 3, NOW, sizes="many"),
        judged(P, 3, NOW, sizes="p"),
    )
    return {v.result.chart.name: v for v in charts}


def _openmetrics(text: str) -> str:
    """The families the rules read, as the sidecar's job stored them a minute apart."""
    out = []
    for family in text_string_to_metric_families(text):
        if family.name not in NEEDED:
            continue
        out.append(f"# TYPE {family.name} gauge")
        for at in (NOW - 60, NOW):
            for s in family.samples:
                labels = {**s.labels, "job": "llmscope-spc", "instance": "spc:8466"}
                pairs = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                out.append(f"{s.name}{{{pairs}}} {s.value!r} {at:.0f}")
    return "\n".join(out) + "\n# EOF\n"


def _zone_rules() -> list[dict[str, object]]:
    with open(RULES) as f:
        groups = yaml.safe_load(f)["groups"]
    (zones,) = [g for g in groups if g["name"] == "llmscope.spc.zones"]
    rules: list[dict[str, object]] = zones["rules"]
    return rules


def test_the_zone_rules_give_the_sidecars_zones() -> None:
    views = _views()
    collector = SidecarCollector(lambda: NOW)
    collector.views = views
    rules = _zone_rules()
    assert len(rules) == 4
    with backfilled_prometheus(_openmetrics(collector.render().decode())) as backend:
        prom = backend.server
        assert prom is not None
        for rule in rules:
            side = str(rule["record"]).split("_zone_")[1].split(":")[0]
            labels = rule["labels"]
            assert isinstance(labels, dict)
            multiple = int(labels["sigmas"]) * (1 if side == "upper" else -1)
            got = {
                (r["metric"]["chart"], r["metric"]["series"]): float(r["value"][1])
                for r in prom.query(str(rule["expr"]), NOW)
            }
            want = {}
            for name, view in views.items():
                zone = view.result.zones[multiple]
                for key, value in zip(view.result.keys, zone.tolist(), strict=True):
                    if not math.isnan(value):
                        want[(name, f"target={key[0]}")] = value
            assert set(got) == set(want), rule["record"]
            for key, value in want.items():
                assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (key, multiple)
    # Every kind was judged with limits, and the p chart's lower zones were clipped at 0.
    assert all(v.result.limits_ok.all() for v in views.values())
    assert (views["errors"].result.zones[-2] == 0.0).any()
