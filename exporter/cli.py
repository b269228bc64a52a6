"""``llmscope-exporter``: flags in the Prometheus exporters' style, exit 2 on config errors."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from exporter.accounting.estimate import BUDGET_FACTOR, cost_table, over_budget, target_cost
from exporter.app import Exporter
from exporter.bench import cli as bench_cli
from exporter.config.keys import missing_key
from exporter.config.types import Config
from exporter.configfile import builtin_config, load_file
from exporter.metrics import vantage
from exporter.transport import loop as event_loop
from servicekit import cli
from servicekit.flags import add_common_flags
from servicekit.version import VERSION
from servicekit.web.config import WebSettings

DEFAULT_ADDRESS = ":8465"
log = logging.getLogger("llmscope.exporter")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llmscope-exporter",
        description="Probe LLM providers with small streaming requests; serve Prometheus metrics. "
        "'llmscope-exporter bench --help': run a benchmark session instead.",
    )
    add_common_flags(
        p,
        config_help="YAML configuration (default: the built-in simulated targets)",
        default_address=DEFAULT_ADDRESS,
    )
    p.add_argument(
        "--budget.ignore-estimate",
        dest="ignore_estimate",
        action="store_true",
        help=f"start even when a target's estimated daily cost is over {BUDGET_FACTOR:g} "
        "times its budget (the budget guard still pauses it)",
    )
    p.add_argument(
        "--vantage",
        metavar="NAME",
        help="where this exporter probes from, the vantage label of every series "
        f"(default: ${vantage.ENV}, else the host name)",
    )
    p.add_argument("--version", action="version", version=f"llmscope-exporter {VERSION}")
    return p


def load_config(path: str | None) -> Config:
    return load_file(path) if path else builtin_config()


def main(argv: Sequence[str] | None = None) -> int:
    event_loop.install()  # uvloop where installed: less CPU per streamed chunk
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["bench"]:
        return bench_cli.main(args[1:], load_config)
    return cli.main(SERVICE, args)


def _settle_flags(args: argparse.Namespace) -> None:
    args.vantage = vantage.resolve(args.vantage, os.environ)


def _summary(config: Config) -> str:
    costs = [target_cost(t) for t in config.targets]
    lines = [f"{config.source}: valid, {cli.count(len(config.targets), 'target')}"]
    lines += cost_table(costs)
    for target in config.targets:
        why = missing_key(target, os.environ)
        if why is not None:
            lines.append(f"target {target.name} will be idle: {why}")
    lines += [f"would refuse to start: {line}" for line in over_budget(costs)]
    return "\n".join(lines)


def _check_cost(config: Config, ignore: bool) -> bool:
    """Log the daily estimate; False when a target's is far over its budget and not waived."""
    costs = [target_cost(t) for t in config.targets]
    for line in cost_table(costs):
        log.info("estimated cost: %s", line)
    problems = over_budget(costs)
    for line in problems:
        if ignore:
            log.warning("%s (--budget.ignore-estimate)", line)
        else:
            log.error("%s; not starting (--budget.ignore-estimate overrides)", line)
    return ignore or not problems


async def _serve(args: argparse.Namespace, config: Config, web: WebSettings) -> int:
    registry = vantage.VantageRegistry(args.vantage)
    first = [config]

    def load() -> Config:
        return first.pop() if first else load_config(args.config_file)

    exporter = Exporter(load, registry)
    stop = asyncio.Event()
    server = cli.make_web(
        args,
        web,
        registry,
        title="LLMscope exporter",
        blurb="Streaming probes of LLM providers.",
        reload=exporter.reload,
        logger=log,
    )
    if server is None:
        return 1
    if not _check_cost(config, args.ignore_estimate):
        return 2
    await exporter.start()
    server.start()
    reloads: set[asyncio.Task[str | None]] = set()  # keep running tasks referenced

    def on_sighup() -> None:
        task = asyncio.get_running_loop().create_task(exporter.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    cli.on_signals(stop.set, on_sighup)
    log.info(
        "listening on %s (%s), %s from %s, vantage %s, %s event loop",
        args.listen,
        web.description,
        cli.count(len(config.targets), "target"),
        config.source,
        args.vantage,
        type(asyncio.get_running_loop()).__module__.split(".")[0],
    )
    try:
        await stop.wait()
    finally:
        server.stop()
        await exporter.stop()
    return 0


SERVICE = cli.Service(
    "llmscope-exporter", parser, load_config, _summary, _serve, settle_flags=_settle_flags
)
