"""A simulated provider, so SPC can be shown and tested without keys or network.

Time to first token and each inter-token gap are log-normal (median and log-spread from the
config), drawn from a per-target ``random.Random(seed)``: the same seed gives the same
sequence. A scripted scenario changes the process after a given time or probe count:

- ``mean_shift``: medians multiplied by ``factor`` from the start on;
- ``drift``: the factor grows linearly from 1 to ``factor`` over ``ramp``;
- ``variance``: log-spreads multiplied by ``factor``;
- ``outage``: every probe fails with a 503-like server error;
- ``model_swap``: the stream reports another serving model (``model``) from its start on.

Every kind but ``model_swap`` lasts ``length`` (a duration) or ``length_probes`` probes counted
from ``after_probes``, whichever ends first (both unbounded by default). Counting in probes
ties a scripted incident to the target's cadence: the built-in incident
(``exporter/data/default.yml``) keeps its place in the timeline whatever
``MONITORING_INTERVAL`` is.

``reasoning_chunks`` makes a thinking model of it: that many reasoning chunks stream before
the answer, and the usage counts them as reasoning tokens.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml

from exporter.errors import ProbeError
from exporter.providers.protocol import Provider, ServedBy, StreamEvent, TextChunk, Usage
from servicekit.yamlconf import Reader, join_path

if TYPE_CHECKING:
    from exporter.config.types import TargetConfig
    from exporter.providers.protocol import ProbeContext

SCENARIOS = ("mean_shift", "drift", "variance", "outage", "model_swap")
_SCENARIO_KEYS = frozenset(
    {"kind", "after", "after_probes", "factor", "ramp", "length", "length_probes", "model"}
)


@dataclass(frozen=True)
class Scenario:
    kind: str
    after: float = 0.0  # seconds since the target's first probe
    after_probes: int = 0  # or after this many probes
    factor: float = 2.0
    ramp: float = 600.0  # drift: seconds to reach the full factor
    length: float = math.inf  # how long it lasts
    length_probes: int | None = None  # or for this many probes from after_probes
    model: str = ""  # model_swap: the model reported from then on


@dataclass(frozen=True)
class SimulatedOptions:
    seed: int | None = None
    ttft: float = 0.25
    ttft_spread: float = 0.2
    gap: float = 0.02
    gap_spread: float = 0.3
    error_rate: float = 0.0
    scenario: Scenario | None = None
    reasoning_chunks: int = 0  # thinking streamed before the answer


@dataclass
class _TargetState:
    rng: random.Random
    first_probe: float | None = None
    probes: int = 0


@dataclass(frozen=True)
class Draw:
    """What one simulated probe will do: its delays, or the failure it will report."""

    ttft: float
    gaps: tuple[float, ...]
    failure: ProbeError | None = None
    swapped: bool = False  # a model_swap scenario is in effect


class SimulatedProvider(Provider):
    kind = "simulated"
    semconv_name = "simulated"
    option_keys = frozenset(
        {
            "seed",
            "ttft",
            "ttft_spread",
            "gap",
            "gap_spread",
            "error_rate",
            "scenario",
            "reasoning_chunks",
        }
    )

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # Per target and options: a reload that changes the seed or scenario starts afresh.
        self._states: dict[tuple[str, SimulatedOptions], _TargetState] = {}

    def parse_options(self, reader: Reader, keys: Mapping[str, yaml.Node], path: str) -> object:
        opt = reader.optional
        spread = lambda n, p: reader.number(n, p, minimum=0.0)  # noqa: E731
        return SimulatedOptions(
            seed=opt(keys, "seed", path, reader.integer, None),
            ttft=opt(keys, "ttft", path, reader.duration, 0.25),
            ttft_spread=opt(keys, "ttft_spread", path, spread, 0.2),
            gap=opt(keys, "gap", path, reader.duration, 0.02),
            gap_spread=opt(keys, "gap_spread", path, spread, 0.3),
            error_rate=opt(keys, "error_rate", path, _ratio(reader), 0.0),
            scenario=_scenario(reader, keys.get("scenario"), join_path(path, "scenario")),
            reasoning_chunks=opt(
                keys, "reasoning_chunks", path, lambda n, p: reader.integer(n, p, 0), 0
            ),
        )

    def draw(self, target_name: str, options: SimulatedOptions, tokens: int) -> Draw:
        """Advance the target's random stream by one probe."""
        key = (target_name, options)
        state = self._states.get(key)
        if state is None:
            for old in [k for k in self._states if k[0] == target_name]:
                del self._states[old]
            state = self._states[key] = _TargetState(random.Random(options.seed))
        now = self._clock()
        if state.first_probe is None:
            state.first_probe = now
        elapsed, probe = now - state.first_probe, state.probes
        state.probes += 1
        scale, spread_scale, outage = _scenario_effect(options.scenario, elapsed, probe)
        rng = state.rng
        ttft = scale * rng.lognormvariate(
            math.log(options.ttft), options.ttft_spread * spread_scale
        )
        gaps = tuple(
            scale * rng.lognormvariate(math.log(options.gap), options.gap_spread * spread_scale)
            for _ in range(max(tokens + options.reasoning_chunks - 1, 0))
        )
        failure = None
        if outage:
            failure = ProbeError("server_error", "simulated outage (503)", status=503)
        elif options.error_rate and rng.random() < options.error_rate:
            failure = ProbeError("server_error", "simulated error (500)", status=500)
        return Draw(ttft, gaps, failure, _swapped(options.scenario, elapsed, probe))

    async def stream(self, ctx: ProbeContext) -> AsyncIterator[StreamEvent]:
        target = ctx.target
        options = target.options if isinstance(target.options, SimulatedOptions) else None
        plan = self.draw(target.name, options or SimulatedOptions(), target.max_tokens)
        if plan.failure is not None:
            await asyncio.sleep(min(plan.ttft, 0.05))
            raise plan.failure
        async for event in _thinking_stream(plan, options or SimulatedOptions(), target):
            yield event
        yield Usage(
            input_tokens=max(1, len(ctx.prompt) // 4),
            output_tokens=target.max_tokens + (options.reasoning_chunks if options else 0),
            reasoning_tokens=options.reasoning_chunks if options else None,
        )
        swap = options.scenario.model if options and options.scenario else ""
        yield ServedBy(model=swap if plan.swapped and swap else target.model)


async def _thinking_stream(
    plan: Draw, options: SimulatedOptions, target: TargetConfig
) -> AsyncIterator[StreamEvent]:
    """``reasoning_chunks`` thoughts, then the answer "1 2 3 ...", at the drawn delays."""
    delays = iter((plan.ttft, *plan.gaps))
    for _ in range(options.reasoning_chunks):
        await asyncio.sleep(next(delays))
        yield TextChunk(" hm", reasoning=True)
    for i in range(1, target.max_tokens + 1):
        await asyncio.sleep(next(delays, 0.0))
        yield TextChunk(f" {i}" if i > 1 else "1")


def _swapped(scenario: Scenario | None, elapsed: float, probe: int) -> bool:
    return (
        scenario is not None
        and scenario.kind == "model_swap"
        and elapsed >= scenario.after
        and probe >= scenario.after_probes
    )


def _scenario_effect(
    scenario: Scenario | None, elapsed: float, probe: int
) -> tuple[float, float, bool]:
    """(median factor, spread factor, outage) for a probe at ``elapsed`` / index ``probe``."""
    if scenario is None:
        return 1.0, 1.0, False
    since = elapsed - scenario.after
    if since < 0 or probe < scenario.after_probes or since >= scenario.length:
        return 1.0, 1.0, False
    probes_in = probe - scenario.after_probes
    if scenario.length_probes is not None and probes_in >= scenario.length_probes:
        return 1.0, 1.0, False
    if scenario.kind == "mean_shift":
        return scenario.factor, 1.0, False
    if scenario.kind == "drift":
        progress = min(since / scenario.ramp, 1.0) if scenario.ramp > 0 else 1.0
        return 1.0 + (scenario.factor - 1.0) * progress, 1.0, False
    if scenario.kind == "variance":
        return 1.0, scenario.factor, False
    if scenario.kind == "model_swap":
        return 1.0, 1.0, False  # timing unchanged; see _swapped
    return 1.0, 1.0, True


def _ratio(reader: Reader) -> Callable[[yaml.Node, str], float | None]:
    def convert(node: yaml.Node, path: str) -> float | None:
        value = reader.number(node, path, minimum=0.0)
        if value is not None and value > 1.0:
            reader.fail(node, path, f"must be between 0 and 1, got {value}")
            return None
        return value

    return convert


def _scenario(reader: Reader, node: yaml.Node | None, path: str) -> Scenario | None:
    if node is None:
        return None
    keys = reader.mapping(node, path, _SCENARIO_KEYS)
    if keys is None:
        return None
    if "kind" not in keys:
        reader.fail(node, join_path(path, "kind"), f"required (one of: {', '.join(SCENARIOS)})")
        return None
    kind = reader.choice(keys["kind"], join_path(path, "kind"), SCENARIOS)
    if kind is None:
        return None
    opt = reader.optional
    return Scenario(
        kind=kind,
        after=opt(keys, "after", path, lambda n, p: reader.duration(n, p, positive=False), 0.0),
        after_probes=opt(keys, "after_probes", path, lambda n, p: reader.integer(n, p, 0), 0),
        factor=opt(keys, "factor", path, lambda n, p: reader.number(n, p, minimum=0.0), 2.0),
        ramp=opt(keys, "ramp", path, reader.duration, 600.0),
        length=opt(keys, "length", path, reader.duration, math.inf),
        length_probes=opt(keys, "length_probes", path, lambda n, p: reader.integer(n, p, 1), None),
        model=opt(keys, "model", path, reader.string, ""),
    )
