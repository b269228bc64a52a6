"""Answers reduced to fingerprints, and the modal answer of a sliding window of them.

Only fingerprints are kept (in memory and in the state file): an answer's text never leaves
the probe, and never becomes a label.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, deque
from collections.abc import Iterable

_SPACE = re.compile(r"\s+")
_EDGE_PUNCTUATION = ".,;:!?\"'`*_()[]{}"


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed, punctuation and markup trimmed at the ends:
    "Paris." and " **paris**\\n" are the same answer; "Paris, France" is not."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", folded).strip().strip(_EDGE_PUNCTUATION).strip()


def fingerprint(text: str) -> str:
    """A short stable digest of the normalised answer (64 bits of SHA-256, hex)."""
    return hashlib.sha256(normalise(text).encode()).hexdigest()[:16]


class ModalWindow:
    """The last `size` fingerprints and their most frequent one.

    The modal answer is known once the window holds at least `min_answers` answers and one
    fingerprint is strictly the most frequent (a tie has no mode: nothing is compared).
    """

    def __init__(self, size: int, history: Iterable[str] = (), min_answers: int = 3) -> None:
        self.size = size
        self.min_answers = min(min_answers, size)
        self._recent: deque[str] = deque(maxlen=size)
        self._counts: Counter[str] = Counter()
        for fp in history:
            self.add(fp)

    @property
    def recent(self) -> tuple[str, ...]:
        return tuple(self._recent)

    def modal(self) -> str | None:
        if len(self._recent) < self.min_answers:
            return None
        top = self._counts.most_common(2)
        if len(top) > 1 and top[0][1] == top[1][1]:
            return None
        return top[0][0]

    def modal_share(self) -> float | None:
        mode = self.modal()
        return None if mode is None else self._counts[mode] / len(self._recent)

    def add(self, fp: str) -> None:
        if len(self._recent) == self._recent.maxlen:
            old = self._recent[0]
            self._counts[old] -= 1
            if self._counts[old] == 0:
                del self._counts[old]
        self._recent.append(fp)
        self._counts[fp] += 1
