"""Every expression of every dashboard goes through a real Prometheus's parser.

Variables are replaced as Grafana would: multi-value ones by the "All" regex ``.*``, the
chart by a chart name, ``$__rate_interval`` by 1m and ``$__range`` by 1h. Prometheus holds
no data here, so only parse and type errors (a range where an instant vector belongs, an
unknown function, a bad matcher) can fail a query, and each one fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.realservers import Prometheus, prometheus
from tests.stack.dashboards import BUILTINS, expressions, load_all, substitute
from tests.stack.promapi import instant

VALUES = {
    **BUILTINS,
    "target": ".*",
    "instance": ".*",
    "job": ".*",
    "chart": "duration",
    "series": ".*",
    "errors": ".*",
    "metric": "gen_ai_client_operation_duration_seconds",
    "selector": 'error_type=""',
    "by": "target",
    "engine": "vllm",
}


@pytest.fixture(scope="module")
def empty_prometheus() -> Iterator[Prometheus]:
    with prometheus("global: {scrape_interval: 1m}\n") as server:
        yield server


def test_a_broken_expression_is_reported(empty_prometheus: Prometheus) -> None:
    # The check below is only worth something if Prometheus refuses what it cannot parse.
    assert instant(empty_prometheus.url, "rate(llmscope_probes_total)").error
    assert instant(empty_prometheus.url, "sum by (target (x)").error
    assert instant(empty_prometheus.url, "llmscope_probes_total").error is None


def test_every_dashboard_expression_parses(empty_prometheus: Prometheus) -> None:
    checked = 0
    errors = []
    for dashboard in load_all().values():
        for expr in expressions(dashboard):
            answer = instant(empty_prometheus.url, substitute(expr.expr, VALUES))
            checked += 1
            if answer.error:
                errors.append(f"{expr.where}: {answer.error}\n    {expr.expr}")
    assert checked > 100
    assert not errors, "\n".join(errors)
