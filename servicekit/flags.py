"""Flags both services share, spelled as the Prometheus exporters spell them."""

from __future__ import annotations

import argparse
import os
import sys

from servicekit.errors import ConfigError
from servicekit.logs import LEVELS, SECRETS
from servicekit.web.auth import API_KEY_ENV
from servicekit.web.config import WebSettings, load_web


def add_common_flags(p: argparse.ArgumentParser, *, config_help: str, default_address: str) -> None:
    p.add_argument("--config.file", dest="config_file", metavar="PATH", help=config_help)
    p.add_argument(
        "--config.check",
        dest="config_check",
        action="store_true",
        help="validate the configuration and exit (0 valid, 2 invalid)",
    )
    p.add_argument(
        "--web.listen-address",
        dest="listen",
        metavar="ADDRESS",
        default=default_address,
        help=f"address for /metrics (default {default_address})",
    )
    p.add_argument(
        "--web.config.file",
        dest="web_config",
        metavar="PATH",
        help="TLS and basic-auth settings, exporter-toolkit format",
    )
    p.add_argument(
        "--web.allow-dev-token",
        dest="allow_dev_token",
        action="store_true",
        help="accept LLMSCOPE_API_KEY=dev-123, the development token (local use only)",
    )
    p.add_argument("--log.level", dest="log_level", choices=list(LEVELS), default="info")


def web_settings(args: argparse.Namespace) -> WebSettings:
    """``--web.config.file`` and ``LLMSCOPE_API_KEY``; the token joins the masked secrets."""
    settings = load_web(args.web_config, os.environ, args.allow_dev_token)
    SECRETS.add(os.environ.get(API_KEY_ENV, ""))
    return settings


def report_config_error(program: str, err: ConfigError | Exception) -> int:
    """One stderr line per problem, no traceback; the exit code for a bad configuration."""
    for line in str(err).splitlines():
        print(f"{program}: config error: {line}", file=sys.stderr)
    return 2
