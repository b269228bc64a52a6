"""One BLAS thread for the SPC engine, set before numpy loads OpenBLAS.

The engine's matrices are small (the run-length chains of ``detectors/runlength.py`` have 400
states) and the sidecar computes in one worker thread. OpenBLAS' own thread pool gains
nothing on them and, on a busy machine with few cores, its threads wait on each other: a
400-state ``numpy.linalg.solve`` took 100 ms instead of 18 ms on a loaded 2-core host, and a
cold cycle of 1,000 series spent 68 s instead of 6 s designing its paging detectors
(docs/benchmarks.md). A value the environment already sets is kept; a process that loaded
numpy before importing ``spc_rules`` keeps the thread count it started with.
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
