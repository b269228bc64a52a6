"""Rule copies on a compressed timeline: every window, offset and wait scaled, accepted by
promtool, and the README's timeline holding for the SLO page as it does at 15 s."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmscope_stack.configs import write_all
from llmscope_stack.rulescale import scale_expr
from llmscope_stack.settings import ROOT, Ports, from_environment
from testkit.realservers import PROMTOOL, require


def test_every_range_subquery_and_offset_is_scaled_and_strings_are_not() -> None:
    expr = (
        'rate(x{le=~"[5m]"}[5m]) / sum_over_time(y[1h:1m]) - z offset 30m'
        " + max_over_time(w[1h30m:]) - v offset -2h"
    )
    assert scale_expr(expr, 1 / 15) == (
        'rate(x{le=~"[5m]"}[20000ms]) / sum_over_time(y[240000ms:4000ms]) - z offset 120000ms'
        " + max_over_time(w[360000ms:]) - v offset -480000ms"
    )
    assert scale_expr(expr, 1.0) == expr


def _copies(tmp_path: Path, interval: str) -> Path:
    environ = {"LLMSCOPE_DATA": str(tmp_path), "MONITORING_INTERVAL": interval}
    out = write_all(from_environment(environ, ports=Ports()))
    return Path(out.rules).parent


def test_the_scaled_copies_pass_promtool_and_scale_every_window(tmp_path: Path) -> None:
    folder = _copies(tmp_path, "1s")
    copies = sorted(folder.glob("*.yml"))
    assert [p.name for p in copies] == sorted(
        p.name for p in (ROOT / "prometheus" / "rules").glob("*.yml")
    )
    done = subprocess.run(
        [require(PROMTOOL), "check", "rules", "--lint=all", "--lint-fatal", *map(str, copies)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    burn = yaml.safe_load((folder / "slo_burn_rate.yml").read_text())
    exprs = {r.get("record") or r["alert"]: r["expr"] for g in burn["groups"] for r in g["rules"]}
    assert "[20000ms]" in exprs["target:llmscope_slo_latency_errors:ratio_rate5m"]
    assert "[1440000ms]" in exprs["target:llmscope_slo_latency_errors:ratio_rate6h"]
    assert "[5m]" not in "".join(exprs.values())


# The README's first run, in 15 s probes: 48 good probes, 20 three times slower than the
# SLO's 1.28 s threshold (12 to 17 minutes), then good ones again.
_PROBES, _BAD = 48, 20


def _minutes(n: float, interval: float) -> str:
    """``n`` minutes of the 15 s timeline, at ``interval`` seconds a probe."""
    return f"{round(n * 60 * interval / 15 * 1000)}ms"


def _promtool_case(rules: list[Path], interval: float) -> dict[str, Any]:
    series = 'job="llmscope-exporter",target="simulated-small"'
    good = f"0+1x{_PROBES} {_PROBES}x{_BAD - 1} {_PROBES + 1}+1x400"  # good probes within 1.28 s
    labels = {
        "severity": "critical",
        "target": "simulated-small",
        "provider": "simulated",
        "model": "sim-small",
    }

    def at(minute: float, firing: bool) -> dict[str, Any]:
        return {
            "eval_time": _minutes(minute, interval),
            "alertname": "LLMscopeLatencySLOBurnFast",
            "exp_alerts": [{"exp_labels": labels}] if firing else [],
        }

    return {
        "rule_files": [str(p) for p in rules],
        "evaluation_interval": f"{round(interval * 1000)}ms",
        "tests": [
            {
                "interval": f"{round(interval * 1000)}ms",
                "input_series": [
                    {
                        "series": "gen_ai_client_operation_duration_seconds_bucket"
                        f'{{{series},error_type="",le="1.28"}}',
                        "values": good,
                    },
                    {
                        "series": f"gen_ai_client_operation_duration_seconds_count{{{series}}}",
                        "values": "0+1x500",
                    },
                    {
                        "series": "llmscope_target_info"
                        f'{{{series},provider="simulated",model="sim-small"}}',
                        "values": "1x500",
                    },
                ],
                # Before the incident, paged during it, still paged while its 30-minute
                # window holds it (the SRE workbook's 6 h / 30 min pair), resolved by 47.
                "alert_rule_test": [
                    at(11, False),
                    at(16, True),
                    at(40, True),
                    at(47, False),
                ],
            }
        ],
    }


def _without_annotations(path: Path, tmp_path: Path) -> Path:
    """The rule file without annotations: promtool compares them whole, and this test is
    about when the alert fires, not what it says (tests/rules checks that)."""
    doc = yaml.safe_load(path.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    out = tmp_path / f"bare-{path.name}"
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


@pytest.mark.parametrize("interval", [15.0, 1.0, 0.5])
def test_the_fast_burn_page_keeps_the_readmes_timeline_at_any_interval(
    tmp_path: Path, interval: float
) -> None:
    folder = ROOT / "prometheus" / "rules" if interval == 15 else _copies(tmp_path, f"{interval}s")
    rules = [
        _without_annotations(folder / name, tmp_path) for name in ("slo.yml", "slo_burn_rate.yml")
    ]
    case = tmp_path / "fast_burn_test.yml"
    case.write_text(yaml.safe_dump(_promtool_case(rules, interval), sort_keys=False))
    done = subprocess.run(
        [require(PROMTOOL), "test", "rules", str(case)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
