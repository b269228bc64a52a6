"""``llmscope-spc``: the SPC sidecar, with flags in the Prometheus exporters' style.

Exit codes: 0 after a clean stop or a valid ``--config.check``, 1 when it cannot listen,
2 for a bad configuration or flag (one line per problem, no traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from exporter._yaml import parse_duration
from exporter.errors import ConfigError
from exporter.flags import add_common_flags, report_config_error, web_settings
from exporter.logs import setup
from exporter.web import (
    Request,
    Response,
    WebServer,
    landing_page,
    metrics_handler,
    text,
)
from exporter.webconfig import WebSettings
from spc_rules.sidecar.config import (
    SidecarConfig,
    SidecarConfigError,
    builtin_config,
    load_file,
)
from spc_rules.sidecar.service import Sidecar

DEFAULT_ADDRESS = ":8466"
DEFAULT_PROMETHEUS = "http://localhost:9090"
VERSION = "0.1.0"
log = logging.getLogger("llmscope.spc")


def _interval(value: str) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("must be greater than zero")
    return seconds


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f'"{value}" is not an http:// or https:// URL')
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llmscope-spc",
        description="Read histograms from Prometheus, judge every series with SPC (limits, "
        "Nelson rules 1-8, EWMA, CUSUM, capability) and serve the results as metrics.",
    )
    add_common_flags(
        p,
        config_help="YAML chart configuration (default: the built-in charts over the "
        "exporter's histograms)",
        default_address=DEFAULT_ADDRESS,
    )
    p.add_argument(
        "--prometheus.url",
        dest="prometheus_url",
        metavar="URL",
        type=_url,
        default=DEFAULT_PROMETHEUS,
        help="base URL of the Prometheus HTTP API: Prometheus, Thanos, Mimir (with its "
        f"/prometheus prefix) or VictoriaMetrics (default {DEFAULT_PROMETHEUS})",
    )
    p.add_argument(
        "--spc.interval",
        dest="interval",
        type=_interval,
        metavar="DURATION",
        help="evaluation cycle interval, e.g. 30s (default: global.interval of the config, 30s)",
    )
    p.add_argument("--version", action="version", version=f"llmscope-spc {VERSION}")
    return p


def load_config(path: str | None) -> SidecarConfig:
    return load_file(path) if path else builtin_config()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup(args.log_level)
    try:
        config = load_config(args.config_file)
        web = web_settings(args)
    except (SidecarConfigError, ConfigError) as err:
        return report_config_error("llmscope-spc", err)
    if args.config_check:
        print(f"{config.source}: valid, {len(config.charts)} charts")
        return 0
    try:
        return asyncio.run(_serve(args, config, web))
    except KeyboardInterrupt:
        return 0


async def _serve(args: argparse.Namespace, config: SidecarConfig, web: WebSettings) -> int:
    for warning in web.warnings:
        log.warning("%s", warning)
    first = [config]

    def load() -> SidecarConfig:
        return first.pop() if first else load_config(args.config_file)

    sidecar = Sidecar(load, args.prometheus_url, interval=args.interval)
    registry = CollectorRegistry()
    registry.register(sidecar.collector)
    loop = asyncio.get_running_loop()

    def reload_route(request: Request) -> Response:
        future = asyncio.run_coroutine_threadsafe(_reload(sidecar), loop)
        error = future.result(timeout=30)
        return text(500, f"reload failed: {error}") if error else text(200, "reloaded")

    try:
        server = WebServer(
            args.listen,
            {
                "GET /": landing_page(
                    "LLMscope SPC sidecar",
                    {"/metrics": "Metrics"},
                    f"Control limits and rule violations of histograms read from "
                    f"{args.prometheus_url}.",
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
        await sidecar.aclose()
        return 1
    server.start()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, sidecar.stop)
    loop.add_signal_handler(signal.SIGHUP, sidecar.reload)
    log.info(
        "listening on %s (%s), %d charts from %s, reading %s every %gs",
        args.listen,
        web.description,
        len(config.charts),
        config.source,
        args.prometheus_url,
        sidecar.interval,
    )
    try:
        await sidecar.run()
    finally:
        server.stop()
        await sidecar.aclose()
    return 0


async def _reload(sidecar: Sidecar) -> str | None:
    return sidecar.reload()
