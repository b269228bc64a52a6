"""PromQL fragments the dashboards share: variable matchers and the rate window."""

from __future__ import annotations

# Multi-value variables become a regex ("All" is .*), so they are matched with =~.
T = 'target=~"$target"'
INST = 'instance=~"$instance"'
# One SPC chart (single value) and the selected targets.
C = 'chart="$chart", target=~"$target"'
RATE = "[$__rate_interval]"


def histogram_quantile(q: float, metric: str, by: str = "target") -> str:
    """The q-quantile of a histogram over the rate interval, per ``by`` labels."""
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}_bucket{{{T}}}{RATE})))"
