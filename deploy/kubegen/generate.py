"""Every generated file, by path, and the command that writes or checks them.

``python -m deploy.kubegen`` writes prometheus/rules/*.yml (from prometheus/templates/ with the
default job selectors) and deploy/kubernetes/generated/; ``--check`` only compares. An estate
whose scrape jobs have other names writes its own rule files and PrometheusRule elsewhere:
``python -m deploy.kubegen --exporter-selector 'job="probes"' --spc-selector 'job="spc"'
--out DIR``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from deploy.kubegen import alerting, dashboards, rulefiles, rules
from deploy.kubegen.common import OUT, ROOT, dump
from servicekit.errors import ConfigError

PROGRAM = "python -m deploy.kubegen"


def manifests(files: dict[str, str] | None = None) -> dict[str, str]:
    """deploy/kubernetes/generated/, by file name; the PrometheusRule holds ``files``."""
    files = rulefiles.rule_files() if files is None else files
    return {
        "prometheusrule.yaml": dump([rules.prometheus_rule(files)], rules.SOURCE),
        "alertmanagerconfig.yaml": dump([alerting.alertmanager_config()], alerting.SOURCE),
        "dashboards.yaml": dump(dashboards.dashboard_config_maps(), dashboards.SOURCE),
    }


def outputs() -> dict[Path, str]:
    """Every file this command writes with the defaults, by path."""
    files = rulefiles.rule_files()
    out = {rulefiles.RULES / name: text for name, text in files.items()}
    out.update({OUT / name: text for name, text in manifests(files).items()})
    return out


def stale() -> list[str]:
    """Generated files (relative to the repository) that differ from what the sources give
    now, or that no source gives any more."""
    wanted = outputs()
    found = [p for p in (*rulefiles.RULES.glob("*.yml"), *OUT.glob("*.yaml")) if p not in wanted]
    changed = [
        p for p, text in wanted.items() if not p.is_file() or p.read_text(encoding="utf-8") != text
    ]
    return sorted(str(p.relative_to(ROOT)) for p in (*changed, *found))


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    parser.add_argument("--exporter-selector", default=rulefiles.Selectors.exporter)
    parser.add_argument("--spc-selector", default=rulefiles.Selectors.spc)
    parser.add_argument("--out", type=Path, help="write the rule files and PrometheusRule here")
    args = parser.parse_args(argv)
    try:
        selectors = rulefiles.Selectors(args.exporter_selector, args.spc_selector)
    except ConfigError as err:
        for line in str(err).splitlines():
            print(f"{PROGRAM}: {line}")
        return 2
    if args.out is not None:
        return _estate(args.out, selectors)
    if selectors != rulefiles.Selectors():
        print(f"{PROGRAM}: other job selectors need --out: the shipped rules keep the defaults")
        return 2
    if args.check:
        names = stale()
        for name in names:
            print(f"{name} is stale: run {PROGRAM}")
        return 1 if names else 0
    for path, text in outputs().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return 0


def _estate(out: Path, selectors: rulefiles.Selectors) -> int:
    files = rulefiles.rule_files(selectors)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    (out / "prometheusrule.yaml").write_text(manifests(files)["prometheusrule.yaml"])
    print(f"{len(files)} rule files and prometheusrule.yaml in {out}")
    return 0
