"""Every generated manifest, by file name, and the command that writes or checks them."""

from __future__ import annotations

from collections.abc import Sequence

from deploy.kubegen import alerting, dashboards, rules
from deploy.kubegen.common import OUT, dump


def manifests() -> dict[str, str]:
    return {
        "prometheusrule.yaml": dump([rules.prometheus_rule()], rules.SOURCE),
        "alertmanagerconfig.yaml": dump([alerting.alertmanager_config()], alerting.SOURCE),
        "dashboards.yaml": dump(dashboards.dashboard_config_maps(), dashboards.SOURCE),
    }


def stale() -> list[str]:
    """Generated files whose content differs from what the sources give now."""
    return sorted(
        name
        for name, text in manifests().items()
        if not (OUT / name).is_file() or (OUT / name).read_text(encoding="utf-8") != text
    )


def main(argv: Sequence[str]) -> int:
    if list(argv) == ["--check"]:
        names = stale()
        for name in names:
            print(f"deploy/kubernetes/generated/{name} is stale: run python -m deploy.kubegen")
        return 1 if names else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in manifests().items():
        (OUT / name).write_text(text, encoding="utf-8")
    return 0
