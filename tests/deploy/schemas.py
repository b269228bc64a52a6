"""Schema validation of rendered manifests, offline.

Core kinds: kubernetes-validate's bundled OpenAPI schemas (strict: unknown fields fail).
prometheus-operator kinds: cloudcoil's models, generated from the operator's CRD OpenAPI
schemas; pydantic ignores unknown keys, so a field the model dropped is reported too.
"""

from __future__ import annotations

import functools
from typing import Any

import kubernetes_validate

KUBERNETES = "1.30.0"


@functools.cache
def operator_kinds() -> dict[str, Any]:
    """cloudcoil's models by kind, imported on first use: building their pydantic classes
    takes seconds, which every test worker would pay at collection."""
    from cloudcoil.models.prometheus_operator import v1, v1alpha1

    return {
        "ServiceMonitor": v1.ServiceMonitor,
        "PrometheusRule": v1.PrometheusRule,
        "AlertmanagerConfig": v1alpha1.AlertmanagerConfig,
    }


def problems(doc: dict[str, Any]) -> list[str]:
    """What is wrong with one rendered object; empty when it validates."""
    kind = doc.get("kind", "?")
    name = f"{kind}/{doc.get('metadata', {}).get('name', '?')}"
    model = operator_kinds().get(kind)
    if model is None:
        try:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as err:
            return [f"{name}: {'.'.join(map(str, err.path))}: {err.message}"]
        return []
    try:
        parsed = model.model_validate(doc)
    except ValueError as err:
        return [f"{name}: {err}"]
    kept = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")
    return [f"{name}: {path}: unknown field" for path in dropped(doc, kept, "")]


def dropped(given: Any, kept: Any, path: str) -> list[str]:
    """Paths of keys in ``given`` that the model did not keep (unknown to the schema)."""
    if isinstance(given, dict) and isinstance(kept, dict):
        out = [f"{path}.{k}".lstrip(".") for k in given if k not in kept]
        for k in given:
            if k in kept:
                out += dropped(given[k], kept[k], f"{path}.{k}")
        return out
    if isinstance(given, list) and isinstance(kept, list):
        return [
            p
            for i, (g, k) in enumerate(zip(given, kept, strict=True))
            for p in dropped(g, k, f"{path}[{i}]")
        ]
    return []
