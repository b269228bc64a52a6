"""The printed control-chart link draws a target the exporter will have."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from llmscope_stack.links import TARGET, control_chart_expr, endpoints, linked_target
from llmscope_stack.settings import ROOT, Ports, from_environment
from testkit.backends import backfilled_prometheus


def _link_expr(lines: list[str]) -> str:
    line = next(line for line in lines if line.startswith("control chart"))
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(line.split()[-1]).query)
    return query["g0.expr"][0]


def test_without_a_config_file_the_link_draws_the_built_in_incident(tmp_path: Path) -> None:
    settings = from_environment({"LLMSCOPE_DATA": str(tmp_path)}, ports=Ports())
    assert _link_expr(endpoints(settings, {})) == control_chart_expr("duration", TARGET)


def test_with_a_config_file_the_link_names_a_target_the_file_has(tmp_path: Path) -> None:
    example = ROOT / "examples" / "llmscope.yml"  # openai-mini, claude-haiku-1k, vllm-local, ...
    settings = from_environment(
        {"LLMSCOPE_DATA": str(tmp_path)}, ports=Ports(), exporter_config=example
    )
    # Without keys, the first target that needs none: the one the exporter will probe.
    expr = _link_expr(endpoints(settings, {}))
    assert expr == control_chart_expr("duration", "vllm-local")
    assert "simulated-small" not in expr
    # With its key set, the file's first target.
    assert linked_target(example, {"OPENAI_API_KEY": "sk-test"}) == "openai-mini"


def test_a_file_without_usable_targets_links_the_whole_chart(tmp_path: Path) -> None:
    odd = tmp_path / "odd.yml"
    odd.write_text("targets: [{name: only, api_key_env: UNSET_KEY}]\n")
    assert linked_target(odd, {}) == "only"  # needs a key, but it is all the file has
    odd.write_text("targets: {not: a list}\n")
    assert linked_target(odd, {}) is None
    assert control_chart_expr("duration", None) == (
        '{__name__=~"llmscope_spc_(last_value|center|upper_control_limit|lower_control_limit)"'
        ',chart="duration"}'
    )


def test_the_link_selects_its_target_by_the_series_label_in_a_real_prometheus() -> None:
    # The sidecar's lines carry `series` (the chart's by pairs), not the target's label.
    stored = ["target=a.b,vantage=x", "target=a.b", "target=aXb,vantage=x", "target=a.bc"]
    text = "# TYPE llmscope_spc_center gauge\n" + "".join(
        f'llmscope_spc_center{{chart="duration",series="{s}"}} 1 1700000000\n' for s in stored
    )
    with backfilled_prometheus(text + "# EOF\n") as backend:
        assert backend.server is not None
        found = backend.server.query(control_chart_expr("duration", "a.b"), 1_700_000_030)
        quoted = backend.server.query(control_chart_expr("duration", 'a"b\\c'), 1_700_000_030)
    assert sorted(r["metric"]["series"] for r in found) == ["target=a.b", "target=a.b,vantage=x"]
    assert quoted == []  # quotes and backslashes make a valid query that matches nothing
