"""``llmscope-stack``: start the whole pipeline, print where everything is, stop it on Ctrl-C.

Exit codes: 0 after Ctrl-C (SIGINT), SIGTERM or SIGHUP stopped everything; 1 when a part
could not start or died (every other part is stopped too); 2 for a bad setting or flag.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from llmscope_stack import links
from llmscope_stack.configs import Generated, write_all
from llmscope_stack.receiver import Receiver
from llmscope_stack.settings import Ports, Settings, from_environment
from llmscope_stack.supervise import StartError, Supervisor
from servicekit.errors import ConfigError
from servicekit.flags import report_config_error

PROGRAM = "llmscope-stack"
BINARIES = {"prometheus": "prometheus", "alertmanager": "prometheus-alertmanager"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Run the exporter, the SPC sidecar, Prometheus and Alertmanager on this "
        "machine; print each notification; Ctrl-C stops them all. Settings come from the "
        "environment: MONITORING_INTERVAL, DATA_RETENTION_DAYS, LLMSCOPE_API_KEY, "
        "LLMSCOPE_DATA, provider keys, OLLAMA_URL (README).",
    )
    p.add_argument(
        "--config.file",
        dest="config_file",
        type=Path,
        metavar="PATH",
        help="the exporter's targets (default: the built-in simulated targets)",
    )
    p.add_argument(
        "--spc.config.file",
        dest="spc_config_file",
        type=Path,
        metavar="PATH",
        help="the sidecar's charts (default: the built-in charts)",
    )
    p.add_argument(
        "--web.listen-host",
        dest="host",
        default="127.0.0.1",
        metavar="HOST",
        help="the address every part listens on (default 127.0.0.1)",
    )
    defaults = Ports()
    for name in ("exporter", "spc", "prometheus", "alertmanager", "receiver"):
        p.add_argument(
            f"--{name}.port",
            dest=f"{name}_port",
            type=int,
            metavar="PORT",
            default=getattr(defaults, name),
            help=f"{name} port (default {getattr(defaults, name)})",
        )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    ports = Ports(
        args.exporter_port,
        args.spc_port,
        args.prometheus_port,
        args.alertmanager_port,
        args.receiver_port,
    )
    try:
        settings = from_environment(
            host=args.host,
            ports=ports,
            exporter_config=_absolute(args.config_file),
            spc_config=_absolute(args.spc_config_file),
        )
        binaries = _binaries()
        _ports_free(settings)
    except ConfigError as err:
        return report_config_error(PROGRAM, err)
    return run(settings, binaries)


def run(settings: Settings, binaries: dict[str, str]) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    say(f"data in {settings.data} (Ctrl-C stops everything; a second run resumes)")
    generated = write_all(settings)
    supervisor = Supervisor(settings.data / "logs", os.environ, settings.api_key)
    try:
        receiver = Receiver(settings.host, settings.ports.receiver, say)
    except OSError as err:
        say(f"error: the receiver cannot listen on port {settings.ports.receiver}: {err.strerror}")
        return 1
    receiver.start()
    try:
        start_all(supervisor, settings, generated, binaries)
        for line in links.endpoints(settings):
            say(line)
        say("notifications from Alertmanager appear below, one line each")
        while not stop.wait(0.5):
            dead = supervisor.exited()
            if dead is not None:
                say(
                    f"{dead.name} exited with status {dead.process.returncode}: "
                    f"{dead.log_tail()}; stopping everything"
                )
                return 1
        say("stopping")
        return 0
    except StartError as err:
        say(f"error: {err}; stopping everything")
        return 1
    finally:
        supervisor.stop_all()
        receiver.stop()
        say("stopped")


def start_all(
    supervisor: Supervisor, settings: Settings, generated: Generated, binaries: dict[str, str]
) -> None:
    """Start every part in dependency order, each healthy before the next starts."""
    s, data, python = settings, settings.data, sys.executable

    def listen(port: int) -> str:
        return f"--web.listen-address={s.host}:{port}"

    supervisor.start(
        "alertmanager",
        [
            binaries["alertmanager"],
            f"--config.file={generated.alertmanager}",
            f"--storage.path={data / 'alertmanager'}",
            listen(s.ports.alertmanager),
            "--cluster.listen-address=",  # one node: no gossip port
        ],
        f"{s.url(s.ports.alertmanager)}/-/ready",
    )
    exporter = [python, "-m", "exporter", listen(s.ports.exporter)]
    if s.exporter_config is not None:
        exporter.append(f"--config.file={s.exporter_config}")
    supervisor.start("exporter", exporter, f"{s.url(s.ports.exporter)}/-/healthy")
    supervisor.start(
        "prometheus",
        [
            binaries["prometheus"],
            f"--config.file={generated.prometheus}",
            f"--storage.tsdb.path={data / 'prometheus'}",
            f"--storage.tsdb.retention.time={s.retention_days}d",
            listen(s.ports.prometheus),
            "--web.enable-lifecycle",
        ],
        f"{s.url(s.ports.prometheus)}/-/ready",
    )
    supervisor.start(
        "spc",
        [
            python,
            "-m",
            "spc_rules",
            listen(s.ports.spc),
            f"--config.file={generated.spc}",
            f"--prometheus.url={s.url(s.ports.prometheus)}",
        ],
        f"{s.url(s.ports.spc)}/-/healthy",
    )


_SAY = threading.Lock()


def say(line: str) -> None:
    """One whole line on stdout: the receiver's threads print concurrently, and print()
    writes the text and its newline separately. A closed terminal or pipe must not stop the
    stack half way (SIGHUP stops it cleanly)."""
    with _SAY, contextlib.suppress(BrokenPipeError, OSError):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _absolute(path: Path | None) -> Path | None:
    return None if path is None else path.expanduser().resolve()


def _binaries() -> dict[str, str]:
    found = {name: shutil.which(binary) for name, binary in BINARIES.items()}
    missing = [BINARIES[name] for name, path in found.items() if path is None]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)} not found: scripts/run installs Debian's prometheus and "
            "prometheus-alertmanager packages; or install them yourself"
        )
    return {name: path for name, path in found.items() if path is not None}


def _ports_free(settings: Settings) -> None:
    taken = []
    for name in ("exporter", "spc", "prometheus", "alertmanager", "receiver"):
        port = getattr(settings.ports, name)
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((settings.host, port))
            except OSError as err:
                taken.append(f"--{name}.port: {settings.host}:{port} is not free ({err.strerror})")
    if taken:
        raise ConfigError("\n".join(taken))
