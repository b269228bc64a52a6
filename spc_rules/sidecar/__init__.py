"""The SPC sidecar: reads histograms from a Prometheus HTTP API, judges every series with the
engine (``spc_rules``), and serves limits, rule violations and capability as metrics.

    config / chartconfig / model / selector   what to judge (YAML, validated at load)
    promapi / decode / fetching               raw samples from the HTTP API, in pieces
    samplecache                               raw samples kept between cycles: only news
    points                                    individuals and subgroups from _sum/_count
    evaluate / judging / ledger               the engine over every series; each point
                                              judged once; what is kept between cycles
    publish                                   fresh metric families at every scrape
    service                                   cycles, stale results, backoff, reloads
"""

from spc_rules.sidecar.config import (
    SidecarConfig,
    SidecarConfigError,
    builtin_config,
    load_file,
    load_text,
)
from spc_rules.sidecar.service import Sidecar

__all__ = [
    "Sidecar",
    "SidecarConfig",
    "SidecarConfigError",
    "builtin_config",
    "load_file",
    "load_text",
]
