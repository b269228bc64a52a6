"""Energy per probe in a bench session: GPUs through NVML, CPUs through powercap/RAPL.

Which hardware a target runs on is read from its settings: a target with ``gpu:`` is charged
those GPUs' energy (as the running exporter charges it, docs/telemetry.md); a target whose
``base_url`` is on this machine (a loopback address: a local Ollama or vLLM) is charged the
CPU packages' energy too. Anything else gets no energy and one line saying why: nothing is
estimated.

Probes overlap at ``--concurrency`` above 1, so a counter's step between two probe events
(a start or an end) is shared equally among the probes in flight that use that counter:
the shares of a session add up to the energy the hardware used while those probes ran,
never more. At ``--concurrency 1`` a probe's share is its counter's plain difference.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from exporter.collectors.energy import EnergyMeter
from exporter.collectors.rapl import Rapl
from exporter.config.types import TargetConfig

CPU = "cpu"
GPU = "gpu"
SIMULATED = "simulated target: no hardware energy"


@dataclass(frozen=True)
class TargetEnergy:
    """The counters a target is charged from (``cpu``, ``gpu``), and why any is missing."""

    sources: tuple[str, ...]
    not_measured: str | None  # one line: why energy (or a part of it) is not measured

    def document(self) -> dict[str, object]:
        return {"sources": list(self.sources), "not_measured": self.not_measured}


@dataclass(frozen=True)
class ProbeEnergy:
    cpu_joules: float | None
    gpu_joules: float | None


def local_host(base_url: str) -> str | None:
    """The host of ``base_url`` when it is this machine (loopback), else None."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return host
    try:
        return host if ipaddress.ip_address(host).is_loopback else None
    except ValueError:
        return None


def plan(
    targets: Sequence[TargetConfig],
    rapl: Rapl | None,
    meter: EnergyMeter | None,
    gpu_problem: str,
) -> dict[str, TargetEnergy]:
    """What each target is charged from. ``rapl`` has been opened (``problem`` says why it
    reads nothing); ``gpu_problem`` says why ``meter`` is None."""
    out: dict[str, TargetEnergy] = {}
    for t in targets:
        if t.provider == "simulated":
            out[t.name] = TargetEnergy((), SIMULATED)
            continue
        sources: list[str] = []
        missing: list[str] = []
        if t.gpu is not None:
            if meter is None:
                missing.append(f"gpu {t.gpu}: {gpu_problem}")
            elif meter.read_joules(t.gpu) is None:
                missing.append(f"gpu {t.gpu}: no energy counter (see the exporter's warning)")
            else:
                sources.append(GPU)
        if local_host(t.base_url) is None:
            host = urlsplit(t.base_url).hostname or t.base_url or "the provider"
            missing.append(f"remote target ({host}): its hardware is not on this machine")
        elif rapl is None or not rapl.zones:
            missing.append(rapl.problem if rapl is not None and rapl.problem else "no RAPL")
        else:
            sources.append(CPU)
        out[t.name] = TargetEnergy(tuple(sources), "; ".join(missing) or None)
    return out


class EnergyLedger:
    """Shares each counter's steps among the probes in flight; ``start`` and ``end`` are
    called around every probe, on one thread (the bench's event loop)."""

    def __init__(
        self,
        targets: Sequence[TargetConfig],
        plans: Mapping[str, TargetEnergy],
        rapl: Rapl | None,
        meter: EnergyMeter | None,
    ) -> None:
        # One counter for the CPU packages, one per GPU selector: key -> reader.
        self._readers: dict[str, Callable[[], float | None]] = {}
        self._uses: dict[str, tuple[str, ...]] = {}  # target -> its counter keys
        for t in targets:
            sources, keys = plans[t.name].sources, []
            if CPU in sources and rapl is not None:
                self._readers[CPU] = rapl.package_joules
                keys.append(CPU)
            if GPU in sources and meter is not None and t.gpu is not None:
                key = f"{GPU}:{t.gpu}"
                self._readers[key] = _gpu_reader(meter, t.gpu)
                keys.append(key)
            self._uses[t.name] = tuple(keys)
        self._last: dict[str, float | None] = {}
        self._flight: dict[int, str] = {}  # probe -> target
        self._share: dict[int, dict[str, float]] = {}

    @property
    def active(self) -> bool:
        return bool(self._readers)

    def start(self, probe: int, target: str) -> None:
        self._step()
        self._flight[probe] = target
        self._share[probe] = dict.fromkeys(self._uses.get(target, ()), 0.0)

    def end(self, probe: int) -> ProbeEnergy:
        self._step()
        self._flight.pop(probe)
        share = self._share.pop(probe)
        cpu = share.get(CPU)
        gpu = next((v for k, v in share.items() if k.startswith(GPU)), None)
        return ProbeEnergy(cpu, gpu)

    def _step(self) -> None:
        for key, read in self._readers.items():
            now, before = read(), self._last.get(key)
            self._last[key] = now
            if now is None or before is None or now < before:
                continue  # unreadable, or the counter restarted: charge nothing
            users = [p for p, t in self._flight.items() if key in self._uses.get(t, ())]
            for p in users:
                self._share[p][key] += (now - before) / len(users)


def _gpu_reader(meter: EnergyMeter, selector: str) -> Callable[[], float | None]:
    return lambda: meter.read_joules(selector)
