"""``llmscope-spc``: the SPC sidecar, with flags in the Prometheus exporters' style.

Exit codes: 0 after a clean stop or a valid ``--config.check``, 1 when it cannot listen,
2 for a bad configuration or flag (one line per problem, no traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import logging
import sys
from collections.abc import Sequence

from servicekit import cli
from servicekit.errors import ConfigError
from servicekit.flags import add_common_flags, report_config_error
from servicekit.httpclient import ClientSettings, add_http_config_flag, load_client_settings
from servicekit.logs import setup
from servicekit.version import VERSION
from servicekit.web.config import WebSettings
from servicekit.yamlconf import parse_duration
from spc_rules.sidecar.config.loader import (
    SidecarConfig,
    builtin_config,
    load_file,
)
from spc_rules.sidecar.config.presets import wanted_names
from spc_rules.sidecar.discovery import Discover, DiscoveryError, stored_names
from spc_rules.sidecar.presetwatch import PresetWatcher
from spc_rules.sidecar.publish import metrics_route
from spc_rules.sidecar.service import Sidecar
from spc_rules.sidecar.shard import WHOLE, Shard, label_name, parse_shard

DEFAULT_ADDRESS = ":8466"
DEFAULT_PROMETHEUS = "http://localhost:9090"
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


def _shard(value: str) -> Shard:
    try:
        return parse_shard(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _label(value: str) -> str:
    try:
        return label_name(value) if value else value  # argparse passes the default through
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llmscope-spc",
        description="Read histograms from Prometheus, judge every series with SPC (limits, "
        "Nelson rules 1-8, EWMA, CUSUM, capability) and serve the results as metrics. "
        "'llmscope-spc session --help': research sessions (capture, compare, trend, report); "
        "'llmscope-spc backtest --help': replay history and list the incidents it pages.",
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
        default=None,
        help="base URL of the Prometheus HTTP API: Prometheus, Thanos, Mimir (with its "
        f"/prometheus prefix) or VictoriaMetrics (default {DEFAULT_PROMETHEUS}); with "
        "--config.check, also list the engine preset charts it has data for",
    )
    add_http_config_flag(
        p,
        "credentials, headers and TLS for the Prometheus API (promtool's HTTP client format: "
        "basic_auth, authorization, http_headers such as Mimir's X-Scope-OrgID, tls_config; "
        "docs/security.md)",
    )
    p.add_argument(
        "--spc.interval",
        dest="interval",
        type=_interval,
        metavar="DURATION",
        help="evaluation cycle interval, e.g. 30s (default: global.interval of the config, 30s)",
    )
    p.add_argument(
        "--shard",
        type=_shard,
        default=WHOLE,
        metavar="i/N",
        help="judge only the chart series whose stable hash is i modulo N, so that N "
        "sidecars split the series (default 0/1: all)",
    )
    p.add_argument(
        "--shard.label",
        dest="shard_label",
        type=_label,
        default="",
        metavar="NAME",
        help="with --shard i/N: read only the series whose label NAME is i, as a hashmod "
        "relabeling numbered them at ingestion, instead of reading every series and hashing "
        "here (docs/sidecar.md, Scaling)",
    )
    p.add_argument("--version", action="version", version=f"llmscope-spc {VERSION}")
    return p


def load_config(path: str | None) -> SidecarConfig:
    return load_file(path) if path else builtin_config()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["session"]:
        # Imported here: sessions need scipy.stats and plotting, the service does not (RSS).
        from spc_rules.session import cli as session_cli  # noqa: PLC0415

        return session_cli.main(args[1:])
    if args[:1] == ["backtest"]:
        from spc_rules.backtest import cli as backtest_cli  # noqa: PLC0415 (as sessions)

        return backtest_cli.main(args[1:])
    known, _ = parser().parse_known_args(args)
    if known.config_check and known.prometheus_url:
        return _check_presets(known)
    return cli.main(SERVICE, args)


def _check_presets(args: argparse.Namespace) -> int:
    """--config.check with --prometheus.url: validate, then list what the presets would chart
    against that Prometheus; 1 when it cannot be asked."""
    setup(args.log_level)
    try:
        _settle(args)
        config = load_config(args.config_file)
    except ConfigError as err:
        return report_config_error(SERVICE.program, err)
    print(_summary(config))
    if config.presets.mode == "none":
        print("presets: none")
        return 0
    discover = _discover(args.http)
    watcher = PresetWatcher(args.prometheus_url, discover)
    try:
        found = discover(args.prometheus_url, wanted_names(config.presets), 10.0)
    except DiscoveryError as err:
        print(f"presets: {err}", file=sys.stderr)
        return 1
    for line in watcher.listing(config, found).lines():
        print(line)
    return 0


def charts_phrase(count: int) -> str:
    return f"{count} chart" if count == 1 else f"{count} charts"


def _summary(config: SidecarConfig) -> str:
    return f"{config.source}: valid, {charts_phrase(len(config.charts))}"


async def _serve(args: argparse.Namespace, config: SidecarConfig, web: WebSettings) -> int:
    first = [config]
    url = args.prometheus_url or DEFAULT_PROMETHEUS
    presets = PresetWatcher(url, _discover(args.http))

    shard: Shard = dataclasses.replace(args.shard, label=args.shard_label)

    def load() -> SidecarConfig:
        return shard.narrow(presets.apply(first.pop() if first else load_config(args.config_file)))

    sidecar = Sidecar(load, url, interval=args.interval, http=args.http)
    sidecar.shard = shard
    server = cli.make_web(
        args,
        web,
        metrics_route(sidecar.collector),
        title="LLMscope SPC sidecar",
        blurb=f"Control limits and rule violations of histograms read from {url}.",
        reload=lambda: _reload(sidecar),
        logger=log,
    )
    if server is None:
        await sidecar.aclose()
        return 1
    server.start()
    cli.on_signals(sidecar.stop, sidecar.reload)
    watch = asyncio.create_task(presets.watch(lambda: sidecar.config, sidecar.reload))
    log.info(
        "listening on %s (%s), %s from %s, reading %s every %gs, shard %s",
        args.listen,
        web.description,
        charts_phrase(len(sidecar.config.charts)),
        config.source,
        url,
        sidecar.interval,
        shard,
    )
    try:
        await sidecar.run()
    finally:
        watch.cancel()
        server.stop()
        await sidecar.aclose()
    return 0


async def _reload(sidecar: Sidecar) -> str | None:
    return sidecar.reload()


def _settle(args: argparse.Namespace) -> None:
    """Reads --prometheus.http-config.file once, at start and for --config.check."""
    args.http = load_client_settings(args.prometheus_http_config)


def _discover(http: ClientSettings) -> Discover:
    return functools.partial(stored_names, http=http)


SERVICE = cli.Service("llmscope-spc", parser, load_config, _summary, _serve, _settle)
