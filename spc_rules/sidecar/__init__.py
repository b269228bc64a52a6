"""The SPC sidecar: reads histograms from a Prometheus HTTP API, judges every series with the
engine (``spc_rules``), and serves limits, rule violations and capability as metrics.

    config/    what to judge: chart model types, selectors, the YAML loader (validated at load)
    query/     raw samples from the HTTP API in pieces, kept between cycles (only news is
               fetched), and the points rebuilt from each histogram's _sum/_count
    judge/     the engine over every series; each point judged once; what is kept between cycles
    publish    fresh metric families at every scrape
    service    cycles, stale results, backoff, reloads

The package itself imports nothing, so its parts load on their own.
"""
