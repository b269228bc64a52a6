"""What lets a cycle do work in proportion to what is new, not to its windows: limits
refitted on a schedule (``rolling``), detector designs remembered (``designs``), exclusions
advanced only where something changed (``exclusions``), the ledger kept as columns
(``kept``). docs/benchmarks.md, "SPC sidecar at 10,000 series"."""
