"""One PrometheusRule holding every group of the rule files (``rulefiles.py``), unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from deploy.kubegen.common import RELEASE, metadata

SOURCE = "prometheus/rules/*.yml"


def prometheus_rule(files: Mapping[str, str]) -> dict[str, Any]:
    """The PrometheusRule of ``files`` (name -> text, as ``rulefiles.rule_files`` gives)."""
    groups = [group for name in sorted(files) for group in yaml.safe_load(files[name])["groups"]]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata("llmscope", **RELEASE),
        "spec": {"groups": groups},
    }
