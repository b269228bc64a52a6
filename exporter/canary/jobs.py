"""Canary probes as scheduler jobs: one derived target per canary, mapped back to its parent.

A canary probe is an ordinary probe of its target's provider, endpoint and key, with the
canary's fixed prompt (no nonce: the question must be the same every time), temperature 0 and
the canary's seed where the API takes one. Its own scheduler entry is named
`<target>/canary/<canary>` so it gets its own schedule and connection pool; metrics and the
budget use the parent target's name.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from exporter.config.canaries import CanaryConfig
from exporter.config.types import Sampling, TargetConfig, Workload


@dataclass(frozen=True)
class CanaryJob:
    parent: TargetConfig
    canary: CanaryConfig
    probe_target: TargetConfig  # what the scheduler and the provider see


def canary_jobs(targets: list[TargetConfig]) -> dict[str, CanaryJob]:
    """Every canary of the given targets, by its scheduler name."""
    jobs: dict[str, CanaryJob] = {}
    for target in targets:
        for canary in target.canaries:
            probe_target = replace(
                target,
                name=f"{target.name}/canary/{canary.name}",
                interval=canary.interval,
                prompt=canary.prompt,
                max_tokens=canary.max_tokens or target.max_tokens,
                sampling=Sampling(temperature=0.0, seed=canary.seed),
                workload=Workload(),  # the fixed question as it is, never a sized prompt
                canaries=(),
            )
            jobs[probe_target.name] = CanaryJob(target, canary, probe_target)
    return jobs
