"""Running promtool and amtool: output and exit status together, for clear failures."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from testkit.realservers import AMTOOL, PROMTOOL, require


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    returncode: int
    output: str

    def report(self) -> str:
        return f"{' '.join(self.args)} exited {self.returncode}:\n{self.output}"


def _run(binary: str, args: list[str], cwd: Path) -> Run:
    argv = [require(binary), *args]
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    return Run(tuple(argv), done.returncode, done.stdout + done.stderr)


def promtool(*args: str, cwd: Path) -> Run:
    return _run(PROMTOOL, list(args), cwd)


def amtool(*args: str, cwd: Path) -> Run:
    return _run(AMTOOL, list(args), cwd)
