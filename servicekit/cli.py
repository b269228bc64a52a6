"""The skeleton both commands share: flags, config loading, --config.check, the web server
with its four routes, signals, and a clean exit. Each service fills in only what differs."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from prometheus_client import CollectorRegistry

from servicekit.errors import ConfigError
from servicekit.flags import report_config_error, web_settings
from servicekit.logs import setup
from servicekit.web.config import WebSettings
from servicekit.web.live import LiveWeb
from servicekit.web.server import (
    Handler,
    Request,
    Response,
    WebServer,
    landing_page,
    metrics_handler,
    text,
)

C = TypeVar("C")


@dataclass(frozen=True)
class Service(Generic[C]):
    """What one command is: its name, how it loads and summarises its config, and how it runs."""

    program: str
    parser: Callable[[], argparse.ArgumentParser]
    load: Callable[[str | None], C]
    summary: Callable[[C], str]  # "valid, 3 targets" for --config.check
    serve: Callable[[argparse.Namespace, C, WebSettings], Coroutine[Any, Any, int]]
    # Checks and completes the command's own flags (a default from the environment, say);
    # raises ConfigError, reported like a configuration problem, at start and --config.check.
    settle_flags: Callable[[argparse.Namespace], None] = lambda args: None


def main(service: Service[C], argv: Sequence[str] | None) -> int:
    args = service.parser().parse_args(argv)
    setup(args.log_level)
    try:
        service.settle_flags(args)
        config = service.load(args.config_file)
        web = web_settings(args)
    except ConfigError as err:
        return report_config_error(service.program, err)
    if args.config_check:
        print(service.summary(config))
        return 0
    try:
        return asyncio.run(service.serve(args, config, web))
    except KeyboardInterrupt:
        return 0


def make_web(
    args: argparse.Namespace,
    web: WebSettings,
    registry: CollectorRegistry | Handler,
    *,
    title: str,
    blurb: str,
    reload: Callable[[], Coroutine[Any, Any, str | None]],
    logger: logging.Logger,
) -> WebServer | None:
    """The HTTP server with /, /metrics, /-/healthy and POST /-/reload, not yet started; None
    (and one log line) when the address cannot be used. /metrics renders ``registry``, or is
    ``registry`` itself when that is a handler (the SPC sidecar serves its own bytes)."""
    for warning in web.warnings:
        logger.warning("%s", warning)
    loop = asyncio.get_running_loop()

    def reload_route(request: Request) -> Response:
        error = asyncio.run_coroutine_threadsafe(reload(), loop).result(timeout=30)
        return text(500, f"reload failed: {error}") if error else text(200, "reloaded")

    try:
        server = WebServer(
            args.listen,
            {
                "GET /": landing_page(title, {"/metrics": "Metrics"}, blurb),
                "GET /metrics": (
                    metrics_handler(registry)
                    if isinstance(registry, CollectorRegistry)
                    else registry
                ),
                "GET /-/healthy": lambda r: text(200, "OK"),
                "POST /-/reload": reload_route,
            },
            settings=LiveWeb(args.web_config, lambda: web_settings(args), web).current,
        )
    except (OSError, ValueError) as err:
        logger.error("cannot listen on %s: %s", args.listen, err)
        return None
    return server


def on_signals(stop: Callable[[], object], reload: Callable[[], object]) -> None:
    """SIGINT and SIGTERM stop, SIGHUP reloads, as every Prometheus component does."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    loop.add_signal_handler(signal.SIGHUP, reload)


def count(n: int, noun: str) -> str:
    """ "1 target", "2 targets": a number and its noun, agreeing."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
