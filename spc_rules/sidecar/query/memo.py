"""What a cycle derives from a label set, remembered for the next cycles: the same label sets
come back every cycle, and deriving from them again cost tenths of a steady cycle at 10,000
series (decode.py, points.py). Bounded: past its limit a memo forgets everything (label-set
churn) rather than grow without end."""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

LIMIT = 1 << 18


class Memo(dict[K, V], Generic[K, V]):
    """A dict whose ``keep`` empties it first when it holds ``limit`` entries."""

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: K, value: V) -> V:
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
