"""What one chart series costs a scrape (docs/sidecar.md, "Samples per chart series"): the
exposition of a chart with every rule, EWMA, CUSUM and a USL stays within 1.5 KB and the
samples the docs list per series; flags and open episodes appear only while they hold."""

from __future__ import annotations

import dataclasses
import gzip
from collections import Counter

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from servicekit.web.server import Request
from spc_rules.sidecar.families import ChartView
from spc_rules.sidecar.publish import SidecarCollector, metrics_route
from tests.sidecar.judged import FULL, judged

NOW = 1_800_000_000.0
SERIES = 6
BUDGET = 1500  # bytes per chart series (issue 24: 15 MB at 10,000 series)
VIEW = judged(FULL, SERIES, NOW)
# What each chart series publishes in the steady state, per family (the docs' table).
STEADY = {
    "llmscope_spc_center": 1,
    "llmscope_spc_sigma": 1,
    "llmscope_spc_upper_control_limit": 1,
    "llmscope_spc_lower_control_limit": 1,
    "llmscope_spc_last_value": 1,
    "llmscope_spc_last_subgroup_size": 1,
    "llmscope_spc_baseline_points": 1,
    "llmscope_spc_window_points": 1,
    "llmscope_spc_limits_available": 1,
    "llmscope_spc_cpk": 1,
    "llmscope_spc_ppk": 1,
    "llmscope_spc_violations_total": 1,
    "llmscope_spc_alarm_statistic": 2,
    "llmscope_spc_alarm_threshold": 2,
}
# Families an alert fires from (its labels name the target) or a dashboard joins with the
# histogram's own labels: these keep the chart's `by` labels.
WITH_BY = {
    "llmscope_spc_last_value",
    "llmscope_spc_limits_available",
    "llmscope_spc_limits_provisional",
    "llmscope_spc_limits_points_needed",
    "llmscope_spc_cpk",
    "llmscope_spc_violation_active",
    "llmscope_spc_violation_last_timestamp_seconds",
    "llmscope_spc_alarm_active",
    "llmscope_spc_alarm_reference",
    "llmscope_spc_alarm_started_timestamp_seconds",
    "llmscope_spc_alarms_total",
    "llmscope_spc_shifts_accepted_total",
    "llmscope_spc_shift_accepted_timestamp_seconds",
}


def _collector(view: ChartView, now: float = NOW) -> SidecarCollector:
    collector = SidecarCollector(lambda: now)
    collector.views = {view.result.chart.name: view}
    return collector


def _series_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if 'series="' in line]


def _quiet(view: ChartView) -> ChartView:
    """``view`` with no rule flag within the hold time and no episode open."""
    never = {s: np.full(len(v), np.nan) for s, v in view.violations.last.items()}
    return ChartView(view.result, dataclasses.replace(view.violations, last=never))


def test_a_full_chart_series_costs_at_most_1_5_kb() -> None:
    text = _collector(VIEW).render().decode()
    lines = _series_lines(text)
    assert len({line.split('series="')[1].split('"')[0] for line in lines}) == SERIES
    per_series = sum(len(line) + 1 for line in lines) / SERIES
    assert per_series <= BUDGET, f"{per_series:.0f} bytes per chart series"


def test_a_steady_series_publishes_the_documented_samples() -> None:
    text = _collector(_quiet(VIEW)).render().decode()
    found: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if "series" in sample.labels:
                found[sample.name] += 1
                has_by = "target" in sample.labels
                assert has_by == (sample.name in WITH_BY), sample
                assert "zone" not in sample.name  # recording rules (spc.yml) draw the zones
    assert {name: n // SERIES for name, n in found.items()} == STEADY
    assert all(n % SERIES == 0 for n in found.values()), found
    assert sum(STEADY.values()) == 16


def test_rule_flags_are_published_only_within_the_hold_time() -> None:
    hold = VIEW.result.chart.hold
    last = {s: np.full(SERIES, np.nan) for s in VIEW.violations.last}
    last["1"][3] = NOW - 60.0  # series 3 flagged a minute ago
    last["ewma"][5] = NOW - hold - 1.0  # series 5's flag has cleared
    view = ChartView(VIEW.result, dataclasses.replace(VIEW.violations, last=last))
    text = _collector(view).render().decode()
    active = [line for line in text.splitlines() if line.startswith("llmscope_spc_violation_")]
    assert active == [
        'llmscope_spc_violation_active{chart="full",series="target=t00003",target="t00003",'
        'rule="1",direction="up"} 1.0',
        'llmscope_spc_violation_last_timestamp_seconds{chart="full",series="target=t00003",'
        f'target="t00003",rule="1",direction="up"}} {NOW - 60.0!r}',
    ]
    # The same results later: the flag has cleared, with no new cycle.
    later = _collector(view, NOW + hold).render().decode()
    assert "llmscope_spc_violation_active{" not in later


def test_open_episodes_publish_their_flag_and_reference() -> None:
    alarms = dict(VIEW.result.alarms)
    page = alarms["page"]
    state = page.carry.state
    opened = dataclasses.replace(state, open_upper=np.arange(SERIES) == 4)
    alarms["page"] = dataclasses.replace(page, carry=dataclasses.replace(page.carry, state=opened))
    view = ChartView(dataclasses.replace(VIEW.result, alarms=alarms), VIEW.violations)
    text = _collector(view).render().decode()
    for family in ("llmscope_spc_alarm_active", "llmscope_spc_alarm_reference"):
        lines = [line for line in text.splitlines() if line.startswith(family + "{")]
        assert len(lines) == 1 and 'series="target=t00004"' in lines[0], lines
        assert 'severity="page"' in lines[0] and 'target="t00004"' in lines[0]


def test_a_cycle_is_rendered_once_and_served_plain_or_gzipped() -> None:
    collector = _collector(VIEW)
    route = metrics_route(collector)
    plain = route(Request("GET", "/metrics", {}))
    assert plain.content_type.startswith("text/plain; version=0.0.4")
    assert plain.headers is None
    cached = collector._rendered
    zipped = route(Request("GET", "/metrics", {"accept-encoding": "deflate, gzip;q=0.9"}))
    assert zipped.headers is not None and zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.body) == plain.body
    assert len(zipped.body) < len(plain.body) / 3
    assert collector._rendered is cached  # the same cycle: nothing rendered again
    # New results (a new mapping, as each cycle sets) are rendered at the next scrape.
    collector.views = {"full": _quiet(VIEW)}
    again = route(Request("GET", "/metrics", {})).body
    assert collector._rendered is not cached
    assert again == collector.render()
