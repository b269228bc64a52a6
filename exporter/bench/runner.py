"""Running the probes of a session: each target's probes in order, at most ``concurrency``
probes in flight over all targets, the targets interleaved so they share the run's time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from exporter.accounting.pricing import probe_spend
from exporter.bench.energy import EnergyLedger, ProbeEnergy
from exporter.config.types import TargetConfig
from exporter.probing.harness import ProbeResult, run_probe
from exporter.probing.workload import probe_prompt
from exporter.providers.protocol import ProbeContext, Recall
from exporter.providers.table import PROVIDERS
from exporter.transport.client import ProbeClient


@dataclass(frozen=True)
class Probed:
    """One finished probe, what it cost (USD, None without a known price) and the energy
    charged to it (None where the target's energy is not measured)."""

    target: TargetConfig
    result: ProbeResult
    cost: float | None
    energy: ProbeEnergy | None = None


async def run_session(
    targets: Sequence[TargetConfig],
    *,
    probes: int,
    concurrency: int,
    keys: Mapping[str, str | None],
    max_body_bytes: int,
    on_probe: Callable[[Probed], None],
    client: ProbeClient | None = None,
    ledger: EnergyLedger | None = None,
) -> list[Probed]:
    """``probes`` probes of every target; results in the order the probes started."""
    client = client or ProbeClient(keep_per_target=concurrency)
    gate = asyncio.Semaphore(concurrency)
    order = [t for _ in range(probes) for t in targets]
    recalls = {t.name: Recall() for t in targets}  # a target's probes share their look-ups

    async def one(number: int, target: TargetConfig) -> Probed:
        async with gate:
            # Read on the loop, not in a thread: a few sysfs reads or NVML calls, and the
            # ledger needs them in the order the probes start and end.
            if ledger is not None:
                ledger.start(number, target.name)
            ctx = ProbeContext(
                client=client,
                target=target,
                prompt=probe_prompt(target),
                api_key=keys.get(target.name),
                max_body_bytes=max_body_bytes,
                recall=recalls[target.name],
            )
            result = await run_probe(PROVIDERS[target.provider], ctx)
            energy = ledger.end(number) if ledger is not None else None
        spend = probe_spend(
            target, result.input_tokens, result.output_tokens, result.cached_input_tokens
        )
        cost = sum(spend.values()) if spend is not None else None
        done = Probed(target, result, cost, energy)
        on_probe(done)
        return done

    # Tasks are created in this order and the gate wakes its waiters first in, first out,
    # so the probes start in this order: "probe order" for the Nelson rules is well defined.
    try:
        return list(await asyncio.gather(*(one(i, t) for i, t in enumerate(order))))
    finally:
        client.close()
