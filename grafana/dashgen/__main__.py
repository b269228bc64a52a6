"""Write (or ``--check``) the dashboards in grafana/dashboards/."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from grafana.dashgen import host_gpu, overview, spc
from grafana.dashgen.panels import Json

OUT = Path(__file__).resolve().parent.parent / "dashboards"
DASHBOARDS: dict[str, Callable[[], Json]] = {
    "overview.json": overview.build,
    "spc.json": spc.build,
    "host-gpu.json": host_gpu.build,
}


def render(build: Callable[[], Json]) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grafana.dashgen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    parser.add_argument("--out", type=Path, default=OUT, help=f"directory (default {OUT})")
    args = parser.parse_args(argv)
    stale = []
    for name, build in DASHBOARDS.items():
        path: Path = args.out / name
        text = render(build)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    for name in stale:
        print(f"{args.out / name} is out of date: run python -m grafana.dashgen", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
