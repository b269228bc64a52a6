"""The small state file that keeps each canary's recent answer fingerprints across restarts.

JSON, `{"version": 1, "windows": {target: {canary: [fingerprint, ...]}}}`, written whole to a
temporary file beside it and renamed over it, so a crash leaves the old or the new file, never
half of one. Fingerprints only: no answer text is ever written.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("llmscope.canary")

VERSION = 1
Windows = dict[str, dict[str, list[str]]]


class StateFile:
    """Loads once, saves on demand; a broken or unwritable file is logged, never fatal."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._last_error: str | None = None

    def load(self) -> Windows:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as err:
            log.warning("canary state %s unreadable, starting afresh: %s", self.path, err.strerror)
            return {}
        try:
            return _parse(json.loads(raw))
        except (ValueError, TypeError) as err:
            log.warning("canary state %s is not valid, starting afresh: %s", self.path, err)
            return {}

    def save(self, windows: Mapping[str, Mapping[str, list[str]]]) -> bool:
        text = json.dumps({"version": VERSION, "windows": windows}, separators=(",", ":"))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".canary-", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(tmp, self.path)
        except OSError as err:
            message = f"{err.strerror or err}"
            if message != self._last_error:  # once per distinct problem, not once per probe
                log.error(
                    "canary state %s cannot be written (kept in memory): %s", self.path, message
                )
                self._last_error = message
            return False
        self._last_error = None
        return True


def _parse(document: object) -> Windows:
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise ValueError(f"expected an object with version {VERSION}")
    windows = document.get("windows")
    if not isinstance(windows, dict):
        raise ValueError('"windows" must be an object')
    out: Windows = {}
    for target, canaries in windows.items():
        if not isinstance(canaries, dict):
            raise ValueError(f"windows.{target} must be an object")
        for canary, prints in canaries.items():
            if not isinstance(prints, list) or not all(isinstance(p, str) for p in prints):
                raise ValueError(f"windows.{target}.{canary} must be a list of strings")
            out.setdefault(str(target), {})[str(canary)] = list(prints)
    return out
