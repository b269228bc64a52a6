"""``llmscope-exporter``: flags in the Prometheus exporters' style, exit 2 on config errors."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from exporter import __version__
from exporter.app import Exporter
from exporter.config import Config, load_file
from exporter.defaults import builtin_config
from exporter.errors import ConfigError
from exporter.flags import add_common_flags, report_config_error, web_settings
from exporter.logs import setup
from exporter.web import Request, Response, WebServer, landing_page, metrics_handler, text
from exporter.webconfig import WebSettings

DEFAULT_ADDRESS = ":8465"
log = logging.getLogger("llmscope.exporter")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llmscope-exporter",
        description="Probe LLM providers with small streaming requests; serve Prometheus metrics.",
    )
    add_common_flags(
        p,
        config_help="YAML configuration (default: the built-in simulated targets)",
        default_address=DEFAULT_ADDRESS,
    )
    p.add_argument("--version", action="version", version=f"llmscope-exporter {__version__}")
    return p


def load_config(path: str | None) -> Config:
    return load_file(path) if path else builtin_config()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup(args.log_level)
    try:
        config = load_config(args.config_file)
        web = web_settings(args)
    except ConfigError as err:
        return report_config_error("llmscope-exporter", err)
    if args.config_check:
        print(f"{config.source}: valid, {len(config.targets)} targets")
        return 0
    try:
        return asyncio.run(_serve(args, config, web))
    except KeyboardInterrupt:
        return 0


async def _serve(args: argparse.Namespace, config: Config, web: WebSettings) -> int:
    for warning in web.warnings:
        log.warning("%s", warning)
    registry = CollectorRegistry()
    first = [config]

    def load() -> Config:
        return first.pop() if first else load_config(args.config_file)

    exporter = Exporter(load, registry)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def reload_route(request: Request) -> Response:
        future = asyncio.run_coroutine_threadsafe(exporter.reload(), loop)
        error = future.result(timeout=30)
        return text(500, f"reload failed: {error}") if error else text(200, "reloaded")

    try:
        server = WebServer(
            args.listen,
            {
                "GET /": landing_page(
                    "LLMscope exporter",
                    {"/metrics": "Metrics"},
                    "Streaming probes of LLM providers.",
                ),
                "GET /metrics": metrics_handler(registry),
                "GET /-/healthy": lambda r: text(200, "OK"),
                "POST /-/reload": reload_route,
            },
            auth=web.auth,
            tls=web.tls,
            headers=web.headers,
        )
    except (OSError, ValueError) as err:
        log.error("cannot listen on %s: %s", args.listen, err)
        return 1
    await exporter.start()
    server.start()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reloads: set[asyncio.Task[str | None]] = set()  # keep running tasks referenced

    def on_sighup() -> None:
        task = loop.create_task(exporter.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, on_sighup)
    log.info(
        "listening on %s (%s), %d targets from %s",
        args.listen,
        web.description,
        len(config.targets),
        config.source,
    )
    try:
        await stop.wait()
    finally:
        server.stop()
        await exporter.stop()
    return 0
