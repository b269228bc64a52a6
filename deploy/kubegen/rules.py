"""One PrometheusRule holding every group of ``prometheus/rules/*.yml``, unchanged."""

from __future__ import annotations

from typing import Any

from deploy.kubegen.common import RELEASE, ROOT, load, metadata

SOURCE = "prometheus/rules/*.yml"


def prometheus_rule() -> dict[str, Any]:
    groups = [
        group
        for path in sorted((ROOT / "prometheus" / "rules").glob("*.yml"))
        for group in load(path)["groups"]
    ]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata("llmscope", **RELEASE),
        "spec": {"groups": groups},
    }
