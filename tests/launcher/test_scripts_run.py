"""``scripts/run`` from another folder: paths are the caller's (issue 18, point 7), and a
missing file's message shows the absolute path that was tried."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGETS = "targets:\n  - {name: sim, provider: simulated, model: m}\n"


def run(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "run"), *argv], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_the_exporter_form_reads_a_file_relative_to_the_callers_folder(tmp_path: Path) -> None:
    (tmp_path / "llmscope.yml").write_text(TARGETS)
    done = run(tmp_path, "exporter", "--config.file", "llmscope.yml", "--config.check")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("llmscope.yml: valid")


def test_a_missing_file_is_named_by_its_absolute_path(tmp_path: Path) -> None:
    done = run(tmp_path, "exporter", "--config.file", "nope.yml", "--config.check")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        f"llmscope-exporter: config error: {tmp_path / 'nope.yml'}: cannot read config file: "
        "No such file or directory"
    )
    stack = run(tmp_path, "--config.file", "nope.yml")
    assert stack.returncode == 2
    assert stack.stderr.splitlines()[-1] == (
        f"llmscope-stack: config error: --config.file: {tmp_path / 'nope.yml'}: no such file"
    )
