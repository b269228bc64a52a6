"""`kind: p` charts in the sidecar's config: the built-in ones, the defaults, and every
mistake reported with its line, to the exact string."""

from __future__ import annotations

import textwrap

import pytest

from servicekit.errors import ConfigError
from spc_rules.sidecar.config.loader import builtin_config, load_text
from spc_rules.sidecar.config.model import CounterSelector, Proportion
from spc_rules.sidecar.config.selector import Matcher
from spc_rules.sidecar.query.fetching import selectors_of


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_text(textwrap.dedent(text), "t.yml")
    return str(err.value).splitlines()


def test_builtin_p_charts_judge_probe_errors_and_canary_answers() -> None:
    charts = {c.name: c for c in builtin_config().charts if c.kind == "p"}
    assert set(charts) == {"probe_errors", "canary_drift", "canary_expect_failures"}
    errors = charts["probe_errors"]
    count = "gen_ai_client_operation_duration_seconds_count"
    assert errors.proportion == Proportion(
        CounterSelector(count, (Matcher("error_type", "!=", ""),)),
        CounterSelector(count),
        subgroup=300.0,
        laney=True,
    )
    assert errors.by == ("target", "vantage") and errors.direction == "up" and not errors.log
    assert selectors_of(errors) == (
        f'{{__name__=~"{count}",error_type!=""}}',
        f'{{__name__=~"{count}"}}',
    )
    drift = charts["canary_drift"].proportion
    assert drift is not None and drift.subgroup == 900.0
    assert drift.numerator.metric == "llmscope_canary_answers_different_total"
    assert drift.denominator.metric == "llmscope_canary_answers_compared_total"
    assert charts["canary_drift"].by == ("target", "vantage", "canary")
    expect = charts["canary_expect_failures"].proportion
    assert expect is not None
    assert (expect.numerator.metric, expect.denominator.metric) == (
        "llmscope_canary_expect_failures_total",
        "llmscope_canary_answers_total",
    )


def test_a_p_chart_defaults_to_five_minute_subgroups_without_laney() -> None:
    config = load_text(
        "charts:\n  - {name: e, kind: p, numerator: a_total, denominator: b_total}\n", "t.yml"
    )
    chart = config.charts[0]
    assert chart.proportion == Proportion(CounterSelector("a_total"), CounterSelector("b_total"))
    assert chart.kind == "p" and chart.direction == "up"


def test_every_p_chart_mistake_has_its_line() -> None:
    assert _problems(
        """\
        charts:
          - name: errors
            kind: p
            metric: x_seconds
            transform: log
            numerator: 'x_count{a=~"(?=b)"}'
            subgroup: 0s
            laney: 3
            baseline: {center: 0.1, sigma: 1}
          - name: same
            kind: p
            numerator: 'x_total{a="1"}'
            denominator: "x_total{a='1'}"
          - name: typo
            kind: p
            numerator: '{a="1"}'
            denominator: x_sum
          - name: hist
            metric: y_seconds
            subgroup: 5m
            laney: true
          - name: k
            kind: q
            metric: y_seconds
        """
    ) == [
        "t.yml:2: charts[0].denominator: required for kind p",
        "t.yml:4: charts[0].metric: not used by a kind p chart",
        "t.yml:5: charts[0].transform: not used by a kind p chart",
        't.yml:6: charts[0].numerator: a: invalid regular expression "(?=b)": lookaround and '
        "backreferences are not RE2 syntax, which Prometheus uses",
        "t.yml:7: charts[0].subgroup: duration must be greater than zero",
        "t.yml:8: charts[0].laney: expected true or false, got 3",
        "t.yml:9: charts[0].baseline: a kind p chart cannot pin center and sigma; give a "
        "window, or start and end",
        "t.yml:12: charts[1].numerator: equals the denominator",
        't.yml:16: charts[2].numerator: "{a="1"}" does not start with a metric name, e.g. '
        "errors_total",
        't.yml:17: charts[2].denominator: "x_sum" is not a counter of events (use a _count)',
        "t.yml:20: charts[3].subgroup: only for kind p charts",
        "t.yml:21: charts[3].laney: only for kind p charts",
        't.yml:23: charts[4].kind: unknown kind "q" (known: histogram, p)',
    ]
