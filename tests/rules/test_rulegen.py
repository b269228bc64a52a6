"""The rule files are generated from prometheus/templates/ with job selectors, as monitoring
mixins do: the shipped ones with the defaults and current, an estate's with its own selectors
in every series a rule reads from the exporter or the sidecar."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from deploy.kubegen import rulefiles
from deploy.kubegen.generate import main
from servicekit.errors import ConfigError
from tests.rules import _bundle as b
from tests.rules._tools import promtool

# A metric name a rule reads (not a recording rule's level:metric:operations name), with the
# selector that follows it, if any.
_SERIES = re.compile(r"(?<![\w:])((?:gen_ai|llmscope)_[a-z0-9_]+|up)(?![\w:])(\{[^}]*\})?")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
ESTATE = rulefiles.Selectors(exporter='namespace="llm",job="probes"', spc='job=~"spc-.*"')


def _selected(expr: str) -> list[tuple[str, str]]:
    """(metric, its matchers) for every series the expression reads. Quoted strings are
    blanked first, so a regex value with braces is not a metric."""
    code = _QUOTED.sub(lambda m: '"' + "x" * (len(m.group(0)) - 2) + '"', expr)
    found = []
    for match in _SERIES.finditer(code):
        start, end = match.span(2) if match.group(2) else (match.end(), match.end())
        found.append((match.group(1), expr[start:end]))
    return found


def test_the_shipped_rule_files_are_the_templates_with_the_default_selectors() -> None:
    generated = rulefiles.rule_files()
    committed = {p.name: p.read_text(encoding="utf-8") for p in b.rule_files()}
    assert sorted(generated) == sorted(committed), "run: python -m deploy.kubegen"
    for name, text in generated.items():
        assert committed[name] == text, (
            f"prometheus/rules/{name} is stale: python -m deploy.kubegen"
        )


def test_every_series_a_rule_reads_carries_the_estates_selector(tmp_path: Path) -> None:
    files = rulefiles.rule_files(ESTATE)
    read = 0
    for name, text in files.items():
        for group in yaml.safe_load(text)["groups"]:
            for rule in group["rules"]:
                for metric, matchers in _selected(rule["expr"]):
                    if metric == "up":  # either part's scrape health
                        wanted = [ESTATE.exporter, ESTATE.spc]
                    elif metric.startswith("llmscope_spc_"):
                        wanted = [ESTATE.spc]
                    else:
                        wanted = [ESTATE.exporter]
                    assert any(matchers.startswith("{" + w) for w in wanted), (name, metric)
                    read += 1
                assert "llmscope-exporter" not in rule["expr"], (name, rule["expr"])
                assert "llmscope-spc" not in rule["expr"], (name, rule["expr"])
    assert read >= 80  # the check saw the rules' series, not nothing
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    checked = promtool("check", "rules", "--lint=all", "--lint-fatal", *sorted(files), cwd=tmp_path)
    assert checked.returncode == 0, checked.report()


def test_the_default_selectors_are_the_scrape_jobs_of_prometheus_yml() -> None:
    jobs = {j["job_name"] for j in b.load_yaml(b.PROMETHEUS_CONFIG)["scrape_configs"]}
    defaults = rulefiles.Selectors()
    assert defaults.exporter == 'job="llmscope-exporter"' and "llmscope-exporter" in jobs
    assert defaults.spc == 'job="llmscope-spc"' and "llmscope-spc" in jobs


def test_an_estate_writes_its_own_rules_and_prometheus_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--exporter-selector", ESTATE.exporter, "--spc-selector", ESTATE.spc]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    written = {p.name: p.read_text() for p in tmp_path.iterdir()}
    rule = yaml.safe_load(written.pop("prometheusrule.yaml"))
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    assert any('namespace="llm",job="probes"' in e for e in exprs)
    assert not any("llmscope-exporter" in e for e in exprs)
    assert written == rulefiles.rule_files(ESTATE)
    assert "rule files and prometheusrule.yaml in" in capsys.readouterr().out


def test_a_bad_selector_is_one_line_each_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError) as err:
        rulefiles.Selectors(exporter="job=probes", spc='job="spc"}')
    lines = str(err.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith('--exporter-selector: "job=probes" is not a list of label')
    assert lines[1].startswith('--spc-selector: "job="spc"}" is not a list of label')
    assert main(["--exporter-selector", "job probes", "--out", "/nonexistent"]) == 2
    assert capsys.readouterr().out.startswith("python -m deploy.kubegen: --exporter-selector:")
    # Other selectors never overwrite the shipped rules.
    assert main(["--exporter-selector", 'job="probes"']) == 2


def test_an_unknown_placeholder_is_named() -> None:
    with pytest.raises(ValueError, match=r"x.yml: unknown placeholder \$\{exporte\}"):
        rulefiles.render("x.yml", "expr: up{${exporte}}", rulefiles.Selectors())
