"""The exporter's configuration as typed, frozen data (``exporter.config.loader`` loads it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

import yaml

from exporter.config.canaries import CanaryConfig
from servicekit.yamlconf import Reader

# Each default is stated here once; the loader reads them from these dataclasses.
DEFAULT_INTERVAL = 15.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_PROMPT = "Count from 1 to 20."
DEFAULT_CANARY_STATE = "llmscope-canary-state.json"

Connection = Literal["keepalive", "fresh"]
Cache = Literal["cold", "warm"]


@dataclass(frozen=True)
class Workload:
    """What one probe sends and may receive. ``tiny`` sends the target's prompt as it is;
    a sized workload sends a generated prompt of about ``input_tokens`` and caps the answer
    at ``output_tokens`` (it becomes ``max_tokens``). ``warm`` repeats a fixed prefix so a
    provider's prompt cache can serve it. ``name`` is the ``workload`` label value."""

    name: str = "tiny"
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache: Cache = "cold"

    @property
    def sized(self) -> bool:
        return self.input_tokens is not None


# Artificial Analysis' workload sizes (artificialanalysis.ai/methodology/performance-
# benchmarking): about 100 in / 300 out, 1,000 / 1,000 (their default) and 10,000 / 1,500.
PRESETS: dict[str, Workload] = {
    "tiny": Workload(),
    "short": Workload("short", 100, 300),
    "medium": Workload("medium", 1000, 1000),
    "long": Workload("long", 10000, 1500),
}


@dataclass(frozen=True)
class Pricing:
    """USD per one million tokens."""

    input: float
    output: float
    cached_input: float | None = None


@dataclass(frozen=True)
class Budget:
    daily_tokens: int | None = None
    daily_usd: float | None = None


@dataclass(frozen=True)
class Sampling:
    """Decoding settings a probe asks for (canary probes: temperature 0 and a seed); None
    leaves a setting to the provider's default, and providers without a seed ignore it."""

    temperature: float | None = None
    seed: int | None = None


@dataclass(frozen=True)
class CollectorsConfig:
    host: bool = True
    per_cpu: bool = False
    gpu: bool = True
    gpu_sample_interval: float = 0.5
    rapl: bool = True  # CPU energy through Linux powercap (exporter.collectors.rapl)


@dataclass(frozen=True)
class TargetConfig:
    name: str
    provider: str
    model: str
    base_url: str = ""
    api_key_env: str | None = None
    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    stall_timeout: float = 10.0
    max_tokens: int = 32
    prompt: str = DEFAULT_PROMPT
    connection: Connection = "keepalive"
    pricing: Pricing | None = None
    budget: Budget | None = None
    gpu: str | None = None
    sampling: Sampling | None = None
    canaries: tuple[CanaryConfig, ...] = ()
    workload: Workload = Workload()
    # The provider module's own frozen options object (see Provider.parse_options); it
    # takes part in equality, so a reload that changes only an option restarts the target.
    options: object = None


@dataclass(frozen=True)
class Config:
    targets: tuple[TargetConfig, ...]
    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    stall_timeout: float = 10.0
    max_concurrency: int = 16
    max_body_bytes: int = 4 * 1024 * 1024
    collectors: CollectorsConfig = CollectorsConfig()
    canary_state_file: str = DEFAULT_CANARY_STATE
    source: str = "built-in default"


class TargetKind(Protocol):
    """What the loader needs of a ``provider`` kind: its own keys, read and checked.

    Every provider module is one (``exporter.providers.protocol.Provider``); the loader is
    handed the table of them (``exporter.configfile`` binds it), so config imports no
    provider and each provider's keys stay in its own module.
    """

    @property
    def option_keys(self) -> frozenset[str]: ...

    def parse_options(self, reader: Reader, keys: Mapping[str, yaml.Node], path: str) -> object:
        """This kind's keys of a target as a frozen options object."""
        ...

    def validate(self, reader: Reader, target: TargetConfig, node: yaml.Node, path: str) -> None:
        """Checks that need the whole target (a required base_url, say)."""
        ...
