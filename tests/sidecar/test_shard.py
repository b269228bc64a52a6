"""``--shard i/N``: replicas split the chart series between them. Against one real Prometheus,
two shards publish exactly, together, what one unsharded sidecar publishes for every series,
and nothing twice."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from dataclasses import replace

import pytest

from spc_rules.sidecar.config.loader import SidecarConfig, load_text
from spc_rules.sidecar.service import Sidecar
from spc_rules.sidecar.shard import WHOLE, Shard, parse_shard, series_hash
from testkit.backends import backfilled_prometheus
from tests.sidecar.data import LATENCY_CHART, METRIC, Series, generate, openmetrics
from tests.sidecar.expected import Labels, scrape
from tests.sidecar.test_backends import _end

# Two charts by target over the same histogram: a target's charts must stay together.
CONFIG = f"""
global: {{lookback: 1m}}
charts:{LATENCY_CHART}  - name: latency_plain
    metric: {METRIC}
    selector: '{{error_type=""}}'
    by: [target]
    transform: none
    evaluation: 30m
    baseline: 1h
"""
Sample = tuple[str, Labels]


def fleet(end: float) -> list[Series]:
    """The sidecar tests' fleet twice over (a second copy of each target under another
    name), so that two shards both get some of its ten targets."""
    one = generate(end, scrapes=400)
    copies = [replace(s, labels={**s.labels, "target": s.labels["target"] + "-b"}) for s in one]
    return one + copies


async def publish_all(
    url: str, now: float, shards: list[Shard], config: SidecarConfig | None = None
) -> list[dict[Sample, float]]:
    """One cycle of one sidecar per shard, side by side over the same Prometheus."""
    config = config or load_text(CONFIG, "shard.yml")
    clock = [now - 1800.0]  # started before the window: every flag in it counts
    sidecars = [Sidecar(lambda: config, url, clock=lambda: clock[0]) for _ in shards]
    for sidecar, shard in zip(sidecars, shards, strict=True):
        sidecar.shard = shard
    clock[0] = now
    try:
        assert all(await asyncio.gather(*(sidecar.cycle() for sidecar in sidecars)))
        return [per_series(scrape(sidecar.collector)) for sidecar in sidecars]
    finally:
        await asyncio.gather(*(sidecar.aclose() for sidecar in sidecars))


def per_series(published: dict[Sample, float]) -> dict[Sample, float]:
    """The samples of chart series (they carry the chart's `by` labels)."""
    return {k: v for k, v in published.items() if any(name == "target" for name, _ in k[1])}


def test_two_shards_publish_exactly_the_union_of_one_sidecar() -> None:
    end = _end()
    with backfilled_prometheus(openmetrics(fleet(end))) as prom:
        whole, first, second = asyncio.run(
            publish_all(prom.url, end, [WHOLE, Shard(0, 2), Shard(1, 2)])
        )
    assert first and second  # the fleet's series really split
    assert set(first).isdisjoint(second)
    assert {**first, **second} == whole
    # Every chart of one target is judged on the same replica.
    owners = {(dict(k[1])["target"], i) for i, part in enumerate((first, second)) for k in part}
    assert len({t for t, _ in owners}) == len(owners) == 10
    assert {dict(k[1])["chart"] for k in first} == {"latency", "latency_plain"}


def test_the_hash_is_stable_and_spreads() -> None:
    # Fixed value: a change would move every series to another replica on upgrade.
    assert series_hash(["target"], ["gpt-4o"]) == series_hash(["target"], ["gpt-4o"])
    assert series_hash(["target"], ["gpt-4o"]) % 1000 == 560
    spread = Counter(series_hash(["target"], [f"t{i}"]) % 4 for i in range(4000))
    assert min(spread.values()) > 900


def test_shard_flag_is_parsed_and_bad_values_are_refused() -> None:
    assert parse_shard("1/3") == Shard(1, 3)
    for bad in ("3/3", "-1/2", "1", "a/b", "0/0"):
        with pytest.raises(ValueError, match="is not a shard: use i/N with 0 <= i < N"):
            parse_shard(bad)
    run = subprocess.run(
        [sys.executable, "-m", "spc_rules", "--shard", "2/2", "--config.check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert 'argument --shard: "2/2" is not a shard' in run.stderr


def test_with_a_shard_label_each_replica_reads_only_the_series_numbered_for_it() -> None:
    end = _end()
    series = fleet(end)
    targets = sorted({s.labels["target"] for s in series})
    # Numbered as an ingestion-time hashmod would, but not by this sidecar's own hash: a
    # replica that hashed here would keep other targets than the label gives it.
    numbered = {t: str(i % 2) for i, t in enumerate(targets)}
    labelled = [
        replace(s, labels={**s.labels, "shard": numbered[s.labels["target"]]}) for s in series
    ]
    shards = [Shard(i, 2, label="shard") for i in (0, 1)]
    config = load_text(CONFIG, "shard.yml")
    narrowed = [shard.narrow(config) for shard in shards]
    assert narrowed[1].charts[0].matchers[-1].render() == 'shard="1"'
    with backfilled_prometheus(openmetrics(labelled)) as prom:
        whole = asyncio.run(publish_all(prom.url, end, [WHOLE]))[0]
        parts = [
            asyncio.run(publish_all(prom.url, end, [s], c))[0]
            for s, c in zip(shards, narrowed, strict=True)
        ]
    for i, part in enumerate(parts):
        assert {dict(k[1])["target"] for k in part} == {
            t for t, n in numbered.items() if n == str(i)
        }
    assert {**parts[0], **parts[1]} == whole


def test_the_shard_label_flag_refuses_what_is_not_a_label_name() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "spc_rules",
            "--shard",
            "0/2",
            "--shard.label",
            "1x",
            "--config.check",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert 'argument --shard.label: "1x" is not a label name' in run.stderr
