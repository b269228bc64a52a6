"""What the sidecar process loads: one BLAS thread, and no module it does not use.

Measured in docs/benchmarks.md ("Memory of the first run"): scipy.optimize and scipy.stats
cost the sidecar 47 MiB of RSS for one root and one normal tail, the research session's
plotting more; OpenBLAS' thread pool made a cold cycle ten times slower on a loaded host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from spc_rules.sidecar import heap

SERVICE_ONLY = ("scipy.optimize", "scipy.stats", "plotly", "matplotlib", "pandas")


def _loaded_after(code: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    probe = (
        f"{code}\nimport json, os, sys\n"
        "print(json.dumps({'modules': sorted(sys.modules), "
        "'threads': os.environ.get('OPENBLAS_NUM_THREADS')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout))


def test_the_sidecar_command_loads_neither_scipy_optimize_nor_stats_nor_plotting() -> None:
    got = _loaded_after("import spc_rules.cli, spc_rules.sidecar.service")
    modules = set(got["modules"])  # type: ignore[call-overload]
    assert "spc_rules.sidecar.judge.alarms" in modules  # the paging detectors are there
    assert not {m for m in modules if m.split(".")[0] in ("plotly", "matplotlib", "pandas")}
    assert not {m for m in modules if m.startswith(("scipy.optimize", "scipy.stats"))}


def test_importing_the_engine_sets_one_blas_thread_unless_the_environment_chose() -> None:
    assert _loaded_after("import spc_rules")["threads"] == "1"
    env_chose = "import os; os.environ['OPENBLAS_NUM_THREADS'] = '3'\nimport spc_rules"
    assert _loaded_after(env_chose)["threads"] == "3"


def test_a_large_estate_takes_large_arrays_from_the_heap_not_from_fresh_mappings() -> None:
    # glibc's mallinfo2 while a 64 MiB array is alive: hblkhd counts the bytes in mmap'ed
    # blocks (a fresh mapping per array, zero-filled by the kernel on every cycle), arena
    # the heap's (pages reused from one cycle to the next).
    probe = (
        "import ctypes, sys, numpy as np\n"
        "from spc_rules.sidecar import heap\n"
        "class Info(ctypes.Structure):\n"
        "    _fields_ = [(n, ctypes.c_size_t) for n in ('arena', 'ordblks', 'smblks', "
        "'hblks', 'hblkhd', 'usmblks', 'fsmblks', 'uordblks', 'fordblks', 'keepcost')]\n"
        "libc = ctypes.CDLL(None); libc.mallinfo2.restype = Info\n"
        "heap.fit_to(int(sys.argv[1]))\n"
        "a = np.ones(1 << 23)\n"
        "info = libc.mallinfo2()\n"
        "print(info.hblkhd >> 20, info.arena >> 20)\n"
    )

    def mib(series: int) -> tuple[int, int]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
        out = subprocess.run(
            [sys.executable, "-c", probe, str(series)],
            check=False,
            env=env,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr
        mapped, arena = out.stdout.split()
        return int(mapped), int(arena)

    mapped, _ = mib(heap.LARGE_ESTATE - 1)  # a small estate keeps glibc's defaults
    assert mapped >= 64  # the array has its own mapping, unmapped when freed
    mapped, arena = mib(heap.LARGE_ESTATE)
    assert mapped < 64 and arena >= 64  # from the heap
