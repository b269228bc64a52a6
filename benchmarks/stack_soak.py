"""Whole-stack soak: every process of ``scripts/run`` for an hour at sub-second probes.

Run: .venv/bin/python -m benchmarks.stack_soak [--minutes 60] [--first-run]

``--first-run`` runs the README's first run instead (the two built-in simulated targets and
the built-in charts, no faults, no restart), still at 500 ms probes: the services' RSS.

The launcher's own parts (llmscope_stack) start the exporter, the SPC sidecar, Prometheus and
Alertmanager with MONITORING_INTERVAL=500ms, so an hour holds 7,200 probes per target (a day
at the default 15 s is 5,760) and the whole timeline runs 30 times faster. The targets are the
built-in ones (with their scripted incident) plus faults: a simulated target failing 5 % of
probes, one with a scripted outage, and an OpenAI-compatible fake that answers 2 % of requests
with a 500, a 429, a truncated or stalled stream, malformed JSON or an HTML page. Half way,
Prometheus is restarted. For the last tenth the faulty targets are removed (a config reload),
so that every alert they raised must resolve before the end. It reports unhandled errors
(tracebacks) in the two Python services' logs (aim: 0) and their error lines (each one a
handled failure, such as Prometheus answering 503 while it restarts), their RSS per quarter,
the sidecar's cycle times, and every alert that fired and whether it resolved, from the
notifications the receiver printed.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import psutil

from benchmarks.soak import start_fault_server
from llmscope_stack.cli import _binaries, start_all
from llmscope_stack.configs import write_all
from llmscope_stack.receiver import Receiver
from llmscope_stack.settings import Ports, from_environment
from llmscope_stack.supervise import Supervisor
from testkit.realservers import free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "soak-token-5d1e"  # the soak's own bearer token
NOTE = re.compile(r"^\S+ (FIRING|RESOLVED)\s+\S+ (\S+)((?: \w+=\"[^\"]*\")*):")
TARGET = re.compile(r'target="([^"]*)"')


def exporter_config(fault_url: str, faults: bool = True) -> str:
    builtin = (ROOT / "exporter" / "data" / "default.yml").read_text()
    if not faults:
        return builtin
    return builtin + (
        "  - {name: sim-errors, provider: simulated, model: s, seed: 3, error_rate: 0.05}\n"
        "  - {name: sim-outage, provider: simulated, model: s, seed: 4,\n"
        "     scenario: {kind: outage, after_probes: 2400, length_probes: 240}}\n"
        f"  - {{name: fake-openai, provider: openai, base_url: {fault_url}/v1, model: m,\n"
        "     api_key_env: SOAK_KEY, max_tokens: 8}\n"
    )


def scrape(url: str) -> str:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


def cycle_seconds(metrics: str) -> float | None:
    stages = re.findall(r"^llmscope_spc_cycle_duration_seconds\{[^}]*\} (\S+)$", metrics, re.M)
    return sum(float(v) for v in stages) if stages else None


def errors(log: Path) -> tuple[int, list[str]]:
    """Tracebacks (unhandled), and the error lines with their messages."""
    text = log.read_text(errors="replace")
    lines = [line for line in text.splitlines() if "level=error" in line]
    return text.count("Traceback (most recent call last)"), lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument(
        "--first-run",
        action="store_true",
        help="the README's first run: the two built-in targets only, no faults, no restart",
    )
    args = ap.parse_args()
    minutes, faults = args.minutes, not args.first_run
    fault_server, fault_url = start_fault_server(0.02, 11)
    data = Path(tempfile.mkdtemp(prefix="llmscope-stack-soak-"))
    (data / "targets.yml").write_text(exporter_config(fault_url, faults))
    os.environ.update(MONITORING_INTERVAL="500ms", LLMSCOPE_API_KEY=TOKEN, SOAK_KEY="k")
    os.environ.update(LLMSCOPE_DATA=str(data / "data"), DATA_RETENTION_DAYS="1")
    ports = Ports(*(free_port() for _ in range(5)))
    settings = from_environment(ports=ports, exporter_config=data / "targets.yml")
    notes: list[tuple[float, str, str, str]] = []

    def emit(line: str) -> None:
        match = NOTE.match(line)
        if match:
            notes.append((time.time(), match.group(1), match.group(2), match.group(3).strip()))

    supervisor = Supervisor(settings.data / "logs", os.environ, TOKEN)
    receiver = Receiver(settings.host, ports.receiver, emit)
    receiver.start()
    rss: dict[str, list[list[float]]] = {"exporter": [[], [], [], []], "spc": [[], [], [], []]}
    cycles: list[float] = []
    restarted = drained = False
    died: list[str] = []
    start = time.monotonic()
    try:
        start_all(supervisor, settings, write_all(settings), _binaries())
        end = start + minutes * 60
        while (now := time.monotonic()) < end:
            quarter = min(int(4 * (now - start) / (end - start)), 3)
            for child in supervisor.children:
                if not child.running():
                    died.append(child.name)
                elif child.name in rss:
                    rss[child.name][quarter].append(psutil.Process(child.pid).memory_info().rss)
            try:
                seconds = cycle_seconds(scrape(f"{settings.url(ports.spc)}/metrics"))
                if seconds is not None:
                    cycles.append(seconds)
            except OSError as err:
                print(f"sidecar scrape failed: {err}")
            if faults and not drained and now - start > minutes * 54:
                (data / "targets.yml").write_text(exporter_config(fault_url, faults=False))
                reload = urllib.request.Request(
                    f"{settings.url(ports.exporter)}/-/reload",
                    method="POST",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
                urllib.request.urlopen(reload, timeout=30).close()
                drained = True
                print(f"{(now - start) / 60:.1f} min: faulty targets removed", flush=True)
            if faults and not restarted and now - start > minutes * 30:
                supervisor.restart("prometheus")
                restarted = True
                print(f"{(now - start) / 60:.1f} min: Prometheus restarted", flush=True)
            time.sleep(5)
    finally:
        supervisor.stop_all()
        receiver.stop()
        fault_server.terminate()
        fault_server.wait(10)
    report(settings.data / "logs", rss, cycles, notes, died, minutes, faults)


def report(
    logs: Path,
    rss: dict[str, list[list[float]]],
    cycles: list[float],
    notes: list[tuple[float, str, str, str]],
    died: list[str],
    minutes: float,
    faults: bool = True,
) -> None:
    kind = "Prometheus restarted half way" if faults else "the first run: built-in targets only"
    print(f"stack soak: {minutes:g} minutes, probes every 500 ms, {kind}")
    print(f"children that died: {sorted(set(died)) or 'none'}")
    for name in ("exporter", "spc"):
        tracebacks, lines = errors(logs / f"{name}.log")
        print(f"{name}: {tracebacks} unhandled errors (tracebacks), {len(lines)} error lines")
        for line in lines[:10]:
            print(f"  {line}")
        quarters = [f"{max(q) / 2**20:.0f}" if q else "-" for q in rss[name]]
        print(f"{name} RSS MiB, max per quarter: {' / '.join(quarters)}")
    if cycles:
        ordered = sorted(cycles)
        print(
            f"sidecar cycle seconds: median {statistics.median(ordered):.3f}, "
            f"p95 {ordered[int(0.95 * (len(ordered) - 1))]:.3f}, max {ordered[-1]:.3f} "
            f"({len(ordered)} samples)"
        )
    state: dict[tuple[str, str], list[str]] = defaultdict(list)
    for _, status, name, labels in notes:
        # Alertmanager groups by alertname and target: one group's notifications.
        found = TARGET.search(labels)
        state[(name, found.group(1) if found else "")].append(status)
    unresolved = [k for k, seq in state.items() if seq[-1] == "FIRING"]
    print(f"alert groups notified: {len(state)}, still firing at the end: {len(unresolved)}")
    for name, target in sorted(state):
        sequence = state[(name, target)]
        print(f"  {name} {target or '-'}: {len(sequence)} notifications, last {sequence[-1]}")


if __name__ == "__main__":
    main()
