"""What the sidecar publishes of one chart's cycle (its results and the ledger's record of
them), shared by /metrics (``exposition/``), the incidents and the backtests."""

from __future__ import annotations

from dataclasses import dataclass

from spc_rules.sidecar.judge.evaluate import ChartResult
from spc_rules.sidecar.judge.ledger import Violations

PREFIX = "llmscope_spc_"


@dataclass(frozen=True)
class ChartView:
    result: ChartResult
    violations: Violations


def series_label(by: tuple[str, ...], key: tuple[str, ...]) -> str:
    """``target=chat``; ``model=m,op=chat`` for several labels; "" for a chart of one series."""
    return ",".join(f"{name}={value}" for name, value in zip(by, key, strict=True))
