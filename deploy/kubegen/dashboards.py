"""The dashboards as ConfigMaps that Grafana's dashboard sidecar (kube-prometheus-stack's
``grafana.sidecar.dashboards``) picks up by its default label ``grafana_dashboard: "1"``."""

from __future__ import annotations

from typing import Any

from deploy.kubegen.common import ROOT, metadata

SOURCE = "grafana/dashboards/*.json"
FOLDER = "LLMscope"  # the sidecar files them in this folder when folderAnnotation is set


def dashboard_config_maps() -> list[dict[str, Any]]:
    maps = []
    for path in sorted((ROOT / "grafana" / "dashboards").glob("*.json")):
        meta = metadata(f"llmscope-dashboard-{path.stem}", grafana_dashboard="1")
        meta["annotations"] = {"grafana_folder": FOLDER}
        maps.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": meta,
                "data": {f"llmscope-{path.name}": path.read_text(encoding="utf-8")},
            }
        )
    return maps
