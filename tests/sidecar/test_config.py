"""The sidecar's config: the shipped files load, and each bad file gives its exact lines."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from servicekit.errors import ConfigError
from spc_rules.sidecar.config.loader import builtin_config, load_file, load_text
from spc_rules.sidecar.config.model import (
    ALL_RULES,
    PagingConfig,
    PinnedBaseline,
    RangeBaseline,
    RollingBaseline,
)
from spc_rules.sidecar.config.selector import Matcher, parse_selector, render_selector
from spc_rules.sidecar.signals.cusum import Cusum
from spc_rules.sidecar.signals.ewma import Ewma

ROOT = Path(__file__).resolve().parents[2]


def _load(text: str) -> object:
    return load_text(textwrap.dedent(text), "t.yml")


def test_builtin_charts_cover_the_exporters_histograms_per_target() -> None:
    config = builtin_config()
    histograms = [c for c in config.charts if c.kind == "histogram"]
    metrics = {c.metric for c in histograms}
    assert metrics == {
        "gen_ai_client_operation_duration_seconds",
        "gen_ai_client_operation_time_to_first_answer_chunk_seconds",
        "gen_ai_client_operation_time_per_output_chunk_seconds",
        "llmscope_probe_output_tokens_per_second",
        "llmscope_probe_phase_duration_seconds",
    }
    # One series per target and vantage (docs/incidents.md); the phases per phase too.
    assert all(c.by[:2] == ("target", "vantage") for c in histograms)
    network = next(c for c in config.charts if c.name == "network_setup")
    assert (network.by, network.side) == (("target", "vantage", "phase"), "ours")
    assert config.incidents.failures == "probe_errors"
    duration = next(c for c in config.charts if c.name == "duration")
    assert duration.matchers == (Matcher("error_type", "=", ""),)
    assert duration.log
    throughput = next(c for c in config.charts if c.metric.startswith("llmscope_probe_output"))
    assert not throughput.log
    assert config.interval == 30.0


def test_example_config_has_a_real_traffic_chart() -> None:
    config = load_file(ROOT / "examples" / "spc.yml")
    app = next(c for c in config.charts if c.name == "app_duration")
    assert app.metric == "gen_ai_client_operation_duration_seconds"
    assert app.by == ("gen_ai_request_model", "gen_ai_operation_name")
    assert app.estimator == "median_mr"
    assert app.usl == 10.0
    assert app.hold == 600.0
    kinds = {type(c.baseline) for c in config.charts}
    assert kinds == {RollingBaseline, RangeBaseline, PinnedBaseline}


def test_every_key_is_read() -> None:
    config = load_text(
        textwrap.dedent(
            """\
            global:
              interval: 1m
              query_timeout: 10s
              max_range: 30m
              lookback: 2m
              overlap: 90s
              max_concurrent_queries: 2
              baseline_refresh: 1h
              compression: gzip
              max_answer_bytes: 2097152
              evaluation: 2h
              baseline: 12h
              hold: 10m
              min_points: 30
            charts:
              - name: a
                metric: m
                selector: {error_type: "", job: api}
                by: [target, model]
                transform: none
                estimator: std
                usl: 2s
                lsl: 250ms
                rules: [5, 1, 1]
                ewma: {lambda: 0.2, width: 3}
                cusum: true
                refits: 0
              - name: b
                metric: m
                baseline: {start: 2025-01-06T00:00:00Z, end: "2025-01-07T00:00:00+01:00"}
                evaluation: 15m
                hold: 0s
                min_points: 5
                ewma: false
                cusum: {k: 1, h: 4}
                side: ours
                min_effect: 1.5
              - name: c
                metric: m
                baseline: {center: 1.5s, sigma: 0.2}
              - name: d
                metric: m
                baseline: {window: 3h}
            """
        ),
        "t.yml",
    )
    assert (config.interval, config.query_timeout, config.max_range) == (60.0, 10.0, 1800.0)
    assert (config.lookback, config.overlap, config.max_concurrent_queries) == (120.0, 90.0, 2)
    assert (config.baseline_refresh, config.compression) == (3600.0, True)
    assert config.max_answer_bytes == 2 << 20
    a, b, c, d = config.charts
    assert a.matchers == (Matcher("error_type", "=", ""), Matcher("job", "=", "api"))
    assert a.by == ("target", "model")
    assert (a.log, a.estimator, a.usl, a.lsl) == (False, "std", 2.0, 0.25)
    assert a.rules == (1, 5)
    assert a.detectors == (Cusum(), Ewma(0.2, 3.0))
    assert a.refits == 0
    assert a.baseline == RollingBaseline(12 * 3600.0)
    assert (a.evaluation, a.hold, a.min_points) == (7200.0, 600.0, 30)
    assert a.signals == ("1", "5", "cusum", "ewma")
    start = dt.datetime(2025, 1, 6, tzinfo=dt.UTC).timestamp()
    assert b.baseline == RangeBaseline(start, start + 23 * 3600.0)
    assert (b.evaluation, b.hold, b.min_points) == (900.0, 0.0, 5)
    assert b.detectors == (Cusum(1.0, 4.0),)
    assert (b.side, b.min_effect) == ("ours", 1.5)
    assert (a.side, a.min_effect) == ("unknown", None)  # untransformed: no floor
    assert c.min_effect == 1.3
    assert c.baseline == PinnedBaseline(1.5, 0.2)
    assert c.rules == ALL_RULES and c.log
    assert d.baseline == RollingBaseline(3 * 3600.0)


BAD = [
    # side and min_effect: whose side a chart speaks for; a floor is a ratio on log charts.
    (
        "charts:\n  - {name: a, metric: m, side: theirs, min_effect: 0.8}\n"
        "  - {name: b, metric: m, transform: none, min_effect: 2}\n",
        [
            't.yml:2: charts[0].side: unknown value "theirs" (known: ours, provider, unknown)',
            "t.yml:2: charts[0].min_effect: is a ratio of at least 1 (1.3: +30%), got 0.8",
            "t.yml:3: charts[1].min_effect: only for charts with transform: log (a ratio)",
        ],
    ),
    # Issue 18.6: a repeated name is reported once, with every line, even when the entries
    # have errors of their own; a bad regular expression is refused at check.
    (
        "charts:\n  - {name: a, metric: m}\n  - {name: a, metric: 9m}\n  - {name: a, metric: m}\n",
        [
            't.yml:3: charts[1].metric: "9m" is not a valid metric name',
            't.yml:3: charts[1].name: duplicate chart name "a" (also at lines 2, 4)',
        ],
    ),
    (
        "charts:\n  - name: a\n    metric: m\n    selector: '{model=~\"gpt-(4\"}'\n",
        [
            't.yml:4: charts[0].selector: model: invalid regular expression "gpt-(4": missing ), '
            "unterminated subpattern at position 4"
        ],
    ),
    (
        "charts:\n  - name: a\n    metric: m\n    selector: '{model!~\"(?!gpt)\"}'\n",
        [
            't.yml:4: charts[0].selector: model: invalid regular expression "(?!gpt)": '
            "lookaround and backreferences are not RE2 syntax, which Prometheus uses"
        ],
    ),
    (
        "global: {paging: {fleet_series: 0, reference: 0s}}\n"
        "charts:\n  - name: a\n    metric: m\n    direction: sideways\n"
        "    paging: {page_shift: 0.9, false_pages_per_week: -1, colour: red}\n",
        [
            "t.yml:1: global.paging.fleet_series: must be at least 1, got 0",
            "t.yml:1: global.paging.reference: duration must be greater than zero",
            't.yml:5: charts[0].direction: unknown value "sideways" (known: both, down, up)',
            't.yml:6: charts[0].paging.colour: unknown key "colour" (known: accept_after, '
            "false_pages_per_week, false_tickets_per_day, fleet_series, page_shift, "
            "page_shift_sigmas, reference, ticket_gap, ticket_reference, ticket_shift, "
            "ticket_shift_sigmas)",
            "t.yml:6: charts[0].paging.false_pages_per_week: must be positive, got -1",
            "t.yml:6: charts[0].paging.page_shift: is a ratio above 1 (2: twice), got 0.9",
        ],
    ),
    ("", ["t.yml:1: the file is empty"]),
    ("charts: [\n", ["t.yml:2: invalid YAML: expected the node content, but found '<stream end>'"]),
    (
        "global: {}\npresets: none\n",
        ["t.yml:1: charts: at least one chart is required, or presets"],
    ),
    (
        "charts: []\n",
        ["t.yml:1: charts: at least one chart is required, or presets"],
    ),
    ("charts:\n  - name: a\n", ["t.yml:2: charts[0].metric: required"]),
    (
        "charts:\n  - {name: a, metric: m, colour: red}\n",
        [
            't.yml:2: charts[0].colour: unknown key "colour" (known: baseline, by, cusum, '
            "denominator, direction, estimator, evaluation, ewma, hold, kind, laney, lsl, "
            "metric, min_effect, min_points, min_subgroup, name, numerator, paging, refits, "
            "rules, selector, "
            "side, subgroup, transform, usl)"
        ],
    ),
    (
        "charts:\n  - {name: a, metric: m_count}\n",
        [
            't.yml:2: charts[0].metric: name the histogram, not its series: "m" (the sidecar reads '
            "its _sum and _count itself)"
        ],
    ),
    (
        "charts:\n  - {name: a, metric: 9m}\n",
        ['t.yml:2: charts[0].metric: "9m" is not a valid metric name'],
    ),
    (
        'charts:\n  - name: a\n    metric: m\n    selector: {error_type=""}\n',
        ["t.yml:4: charts[0].selector: quote the selector, e.g. selector: '{error_type=\"\"}'"],
    ),
    (
        "charts:\n  - name: a\n    metric: m\n    selector: '{a=b}'\n",
        [
            "t.yml:4: charts[0].selector: cannot read matcher at \"a=b\" in '{a=b}' (use "
            'label="value", label!="value", label=~"regex" or label!~"regex", values in double '
            "or single quotes or backticks)"
        ],
    ),
    (
        "charts:\n  - name: a\n    metric: m\n    selector: '{__name__=\"x\"}'\n",
        [
            "t.yml:4: charts[0].selector: the selector may not match __name__: the chart's "
            "metric names it"
        ],
    ),
    (
        "charts:\n  - name: a\n    metric: m\n    by: [chart, 1x, target, target]\n",
        [
            't.yml:4: charts[0].by[0]: "chart" is a label the sidecar sets itself',
            't.yml:4: charts[0].by[1]: "1x" is not a valid label name',
            't.yml:4: charts[0].by[3]: "target" is listed twice',
        ],
    ),
    (
        "charts:\n  - name: a\n    metric: m\n    baseline: {window: 1h, center: 1}\n",
        ["t.yml:4: charts[0].baseline: give either window, or start and end, or center and sigma"],
    ),
    (
        "charts:\n  - name: a\n    metric: m\n    baseline: {start: 2025-01-02, end: 2025-01-01}\n",
        ["t.yml:4: charts[0].baseline.end: must be after start"],
    ),
    (
        "charts:\n  - name: a\n    metric: m\n    baseline: {start: soon, end: 2025-01-01}\n",
        [
            "t.yml:4: charts[0].baseline.start: expected a time such as 2024-05-01T00:00:00Z, "
            "got 'soon'"
        ],
    ),
    (
        "charts:\n  - name: a\n    metric: m\n    baseline: {center: 0, sigma: -1}\n",
        [
            "t.yml:4: charts[0].baseline.center: must be positive with transform log, got 0",
            "t.yml:4: charts[0].baseline.sigma: must be positive (the standard deviation of ln x)",
        ],
    ),
    (
        "charts:\n  - name: a\n    metric: m\n    baseline: 3x\n",
        ['t.yml:4: charts[0].baseline: bad duration "3x" (use e.g. 250ms, 15s, 1m30s, 2h)'],
    ),
    (
        "charts:\n  - name: a\n    metric: m\n    usl: 1\n    lsl: 2\n    rules: [0, 9]\n",
        [
            "t.yml:4: charts[0].usl: must be above lsl (2)",
            "t.yml:6: charts[0].rules[0]: must be at least 1, got 0",
            "t.yml:6: charts[0].rules[1]: Nelson rules are 1 to 8, got 9",
        ],
    ),
    (
        "charts:\n  - name: a\n    metric: m\n    usl: fast\n    transform: boxcox\n",
        [
            "t.yml:4: charts[0].usl: expected a number or a duration such as 2s, got 'fast'",
            't.yml:5: charts[0].transform: unknown value "boxcox" (known: log, none)',
        ],
    ),
    (
        "charts:\n  - name: a\n    metric: m\n    lsl: -1\n",
        ["t.yml:4: charts[0].lsl: must be positive with transform log, got -1"],
    ),
    (
        "charts:\n  - name: a\n    metric: m\n    ewma: {lambda: 0}\n    cusum: maybe\n",
        [
            "t.yml:4: charts[0].ewma.lambda: must be in (0, 1], got 0",
            't.yml:5: charts[0].cusum: expected true or false, got "maybe"',
        ],
    ),
    (
        "charts:\n  - {name: a, metric: m}\n  - {name: a, metric: n}\n",
        ['t.yml:3: charts[1].name: duplicate chart name "a" (also at line 2)'],
    ),
    (
        "global: {interval: 0s, min_points: 1, compression: br}\n"
        "charts:\n  - {name: a, metric: m}\n",
        [
            't.yml:1: global.compression: unknown value "br" (known: gzip, none)',
            "t.yml:1: global.interval: duration must be greater than zero",
            "t.yml:1: global.min_points: must be at least 2, got 1",
        ],
    ),
]


@pytest.mark.parametrize(("text", "lines"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_a_bad_file_reports_every_problem_with_its_line(text: str, lines: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_text(text, "t.yml")
    assert sorted(str(caught.value).splitlines()) == sorted(lines)


def test_an_unreadable_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_file(tmp_path / "missing.yml")
    assert str(caught.value) == f"{tmp_path / 'missing.yml'}: cannot read config file: " + (
        "No such file or directory"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{error_type=""}', [Matcher("error_type", "=", "")]),
        (
            'a!="x", b=~"y.*" , c!~`z\\d`,',
            [
                Matcher("a", "!=", "x"),
                Matcher("b", "=~", "y.*"),
                Matcher("c", "!~", "z\\d"),
            ],
        ),
        ('{a="q\\"uote"}', [Matcher("a", "=", 'q"uote')]),
        ("{}", []),
    ],
)
def test_selectors_parse_as_in_promql(text: str, expected: list[Matcher]) -> None:
    assert list(parse_selector(text)) == expected


def test_a_selector_renders_one_query_for_sum_and_count() -> None:
    rendered = render_selector(("m_sum", "m_count"), parse_selector('{a="q\\"x", b!~"y"}'))
    assert rendered == '{__name__=~"m_sum|m_count",a="q\\"x",b!~"y"}'


def test_direction_defaults_from_the_metric_and_paging_keys_override_global() -> None:
    config = load_text(
        textwrap.dedent(
            """\
            global:
              paging: {false_pages_per_week: 2, fleet_series: 50, accept_after: 12h}
            charts:
              - {name: latency, metric: gen_ai_client_operation_duration_seconds}
              - {name: rate, metric: llmscope_probe_output_tokens_per_second, transform: none}
              - name: faster_is_news
                metric: m
                direction: both
                paging: {page_shift: 2, ticket_shift: 1.5, ticket_gap: 0s, reference: 30m,
                         ticket_reference: 4h}
            """
        ),
        "t.yml",
    )
    latency, rate, both = config.charts
    assert (latency.direction, rate.direction, both.direction) == ("up", "down", "both")
    assert latency.paging == PagingConfig(
        false_pages_per_week=2.0, fleet_series=50, accept_after=43200.0
    )
    assert both.paging == PagingConfig(
        false_pages_per_week=2.0,
        fleet_series=50,
        accept_after=43200.0,
        page_shift=2.0,
        ticket_shift=1.5,
        ticket_gap=0.0,
        reference=1800.0,
        ticket_reference=14400.0,
    )
    policy = both.paging.policy
    assert (policy.page_shift_ratio, policy.ticket_shift_ratio, policy.fleet_series) == (
        2.0,
        1.5,
        50,
    )
    builtin = {c.name: c.direction for c in builtin_config().charts}
    assert builtin["output_tokens_per_second"] == "down" and builtin["duration"] == "up"


def test_single_quoted_label_values_read_as_promql_reads_them() -> None:
    assert parse_selector("{a='x', b=~'g.*\\'s', c!='say \"hi\"'}") == (
        Matcher("a", "=", "x"),
        Matcher("b", "=~", "g.*'s"),
        Matcher("c", "!=", 'say "hi"'),
    )
