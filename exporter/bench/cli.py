"""``llmscope-exporter bench``: flags, the run, and the session folder it writes.

Exit codes: 0 when the session is written, 1 when it cannot be (folder, summary), 2 for a
bad configuration or flag. The statistics of ``summary.json`` are the SPC engine's, which
the exporter never imports: the bench hands the folder to ``llmscope-spc session summarize``
in a process of its own, as a user could (``--no-summary`` leaves that to them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from exporter.bench.energy import EnergyLedger, TargetEnergy, plan
from exporter.bench.progress import Progress
from exporter.bench.records import metadata_document, points, probe_row
from exporter.bench.runner import Probed, run_session
from exporter.collectors.energy import EnergyMeter
from exporter.collectors.nvml import Nvml
from exporter.collectors.rapl import POWERCAP, Rapl
from exporter.config.types import Config, TargetConfig
from servicekit.errors import ConfigError
from servicekit.flags import report_config_error
from servicekit.logs import LEVELS, SECRETS, setup
from servicekit.sessionformat import (
    METADATA_FILE,
    PROBE_COLUMNS,
    PROBE_METRICS,
    PROBES_FILE,
    add_spec_flags,
    new_session_folder,
    parse_spec,
    write_json,
    write_points,
    write_rows,
)

PROG = "llmscope-exporter bench"
Spec = tuple[str, float]


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{text}" is not a whole number') from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _spec(text: str) -> Spec:
    try:
        return parse_spec(text, {m.name: m.unit for m in PROBE_METRICS})
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _intensity(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{text}" is not a number') from None
    if not 0 < value < 10_000:
        raise argparse.ArgumentTypeError("must be above 0 and below 10000 gCO2e/kWh")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Run N probes per target now, with the exporter's providers and clock, "
        "and write a session folder (probes.csv, points.csv, metadata.json, summary.json).",
    )
    p.add_argument(
        "--config.file",
        dest="config_file",
        metavar="PATH",
        help="YAML config (default: the built-in simulated targets)",
    )
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME",
        help="probe only this target (repeat for more; default: all)",
    )
    p.add_argument(
        "--probes", type=_count, default=30, metavar="N", help="probes per target (default 30)"
    )
    p.add_argument(
        "--concurrency",
        type=_count,
        default=4,
        metavar="C",
        help="probes in flight at once, over all targets (default 4)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="session folder (new or empty)")
    add_spec_flags(p, _spec)
    p.add_argument(
        "--no-summary",
        dest="summary",
        action="store_false",
        help="do not run llmscope-spc session summarize on the folder",
    )
    p.add_argument(
        "--carbon-intensity",
        dest="carbon_intensity",
        type=_intensity,
        metavar="G",
        help="grid carbon intensity in gCO2e per kWh, for grams per 1,000 tokens (no default: "
        "only your grid's operator knows it)",
    )
    p.add_argument(
        "--powercap",
        default=str(POWERCAP),
        metavar="DIR",
        help=f"sysfs folder of the RAPL zones (default {POWERCAP})",
    )
    p.add_argument("--log.level", dest="log_level", choices=list(LEVELS), default="warn")
    return p


def main(argv: Sequence[str], load: Callable[[str | None], Config]) -> int:
    args = parser().parse_args(argv)
    setup(args.log_level)
    try:
        config = load(args.config_file)
        targets, keys = _targets(config, args.target)
    except ConfigError as err:
        return report_config_error(PROG, err)
    spec: dict[str, dict[str, float | None]] = {}
    for side, given in (("usl", args.usl), ("lsl", args.lsl)):
        for name, value in given:
            spec.setdefault(name, {"usl": None, "lsl": None})[side] = value
    out = Path(args.out)
    problem = new_session_folder(out)
    if problem:
        print(f"{PROG}: {problem}", file=sys.stderr)
        return 1
    progress = Progress(args.probes * len(targets), sys.stderr)
    done: list[Probed] = []

    def record(p: Probed) -> None:
        done.append(p)
        progress.advance(not p.result.success)

    energy, ledger, closing = _energy(targets, Path(args.powercap))
    start = time.time()
    interrupted = False
    try:
        asyncio.run(
            run_session(
                targets,
                probes=args.probes,
                concurrency=args.concurrency,
                keys=keys,
                max_body_bytes=config.max_body_bytes,
                on_probe=record,
                ledger=ledger,
            )
        )
    except KeyboardInterrupt:  # keep what finished: a partial session is still a session
        interrupted = True
    finally:
        closing()
    progress.finish()
    done.sort(key=lambda p: p.result.timestamp)
    write_rows(out / PROBES_FILE, PROBE_COLUMNS, (probe_row(p) for p in done))
    write_points(out, points(done))
    document = metadata_document(
        config,
        targets,
        spec=spec,
        start=start,
        end=time.time(),
        probes=args.probes,
        concurrency=args.concurrency,
        energy=energy,
        carbon_intensity=args.carbon_intensity,
    )
    write_json(out / METADATA_FILE, document)
    what = "interrupted, wrote" if interrupted else "wrote"
    print(f"{PROG}: {what} {out} ({len(done)} probes, {progress.failed} failed)", file=sys.stderr)
    if interrupted:
        return 130
    if args.summary:
        # Another process: the exporter never imports spc_rules (docs/architecture.md).
        summarize = [sys.executable, "-m", "spc_rules", "session", "summarize", str(out)]
        if subprocess.run(summarize, check=False).returncode != 0:
            return 1
    return 0


def _energy(
    targets: Sequence[TargetConfig], powercap: Path
) -> tuple[dict[str, TargetEnergy], EnergyLedger | None, Callable[[], None]]:
    """What each target is charged from, the ledger that charges it, and how to let NVML
    go; GPUs are opened only for targets that name one."""
    rapl = Rapl(powercap)
    rapl.open()
    nvml: Nvml | None = None
    meter: EnergyMeter | None = None
    gpu_problem = ""
    if any(t.gpu is not None for t in targets):
        nvml = Nvml.load()
        devices = nvml.open() if nvml is not None else ()
        if nvml is None:
            gpu_problem = "no GPU monitored: the nvidia-ml-py package (pynvml) is not installed"
        elif not devices:
            gpu_problem = "no GPU monitored: NVML found no driver or GPU"
        else:
            meter = EnergyMeter(nvml, devices)
    plans = plan(targets, rapl, meter, gpu_problem)
    ledger = EnergyLedger(targets, plans, rapl, meter)
    return plans, (ledger if ledger.active else None), (nvml.close if nvml else lambda: None)


def _targets(
    config: Config, names: Sequence[str]
) -> tuple[list[TargetConfig], dict[str, str | None]]:
    """The targets to probe and their API keys; a named target that is unknown or has no
    key is a ConfigError, an unnamed one without a key is left out with a notice."""
    known = {t.name: t for t in config.targets}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(
            f"unknown target {', '.join(unknown)} (the configuration has: {', '.join(known)})"
        )
    chosen = [known[n] for n in dict.fromkeys(names)] if names else list(config.targets)
    keys: dict[str, str | None] = {}
    usable: list[TargetConfig] = []
    problems: list[str] = []
    for t in chosen:
        key = (os.environ.get(t.api_key_env) or None) if t.api_key_env else None
        if t.api_key_env and key is None:
            message = f"target {t.name}: environment variable {t.api_key_env} is not set"
            if names:
                problems.append(message)
            else:
                print(f"{PROG}: skipping {message}", file=sys.stderr)
            continue
        if key:
            SECRETS.add(key)
        keys[t.name] = key
        usable.append(t)
    if problems:
        raise ConfigError("\n".join(problems))
    if not usable:
        raise ConfigError("no target left to probe")
    return usable, keys
