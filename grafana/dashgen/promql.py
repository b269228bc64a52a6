"""PromQL fragments the dashboards share: variable matchers and the rate window."""

from __future__ import annotations

# Multi-value variables become a regex ("All" is .*), so they are matched with =~.
T = 'target=~"$target"'
INST = 'instance=~"$instance"'
# One SPC sidecar (job and instance: two sidecars would double every series), one chart
# and the selected chart series (`series` holds the chart's grouping labels, whatever they
# are). Single-value variables are matched with =~ too, so "All" and regex values work.
SIDECAR = 'job=~"$job", instance=~"$instance"'
C = f'{SIDECAR}, chart="$chart", series=~"$series"'
# The chart's own histogram, as the sidecar reads it: its metric and selector (hidden
# variables from llmscope_spc_chart_info), and its grouping labels (`by`).
HISTOGRAM = '__name__="${metric}_%s", ${selector:raw}'
RATE = "[$__rate_interval]"


def histogram_quantile(q: float, metric: str, by: str = "target") -> str:
    """The q-quantile of a histogram over the rate interval, per ``by`` labels."""
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}_bucket{{{T}}}{RATE})))"
