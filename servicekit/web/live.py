"""``--web.config.file`` followed as it changes, as exporter-toolkit reads it for every request:
a basic-auth user added or removed, a password hash or a response header changed, takes effect
at the next request, with no restart.

The file is hashed at each request (it is small) and loaded again only when its bytes
change. A file that no longer loads fails requests with 500 (and TLS connections), as
exporter-toolkit does, with one warning naming the problem, until it loads again: serving on
with the old users would keep letting in one who was removed. Switching TLS on or off needs
a restart (the listening socket speaks one or the other); such a change is refused with a
warning and the server goes on as it is.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from servicekit.errors import ConfigError
from servicekit.web.config import WebSettings
from servicekit.web.tlsfiles import TLSFilesError, fingerprint

log = logging.getLogger("llmscope.web")


class LiveWeb:
    """The web settings as the file is now."""

    def __init__(
        self, path: str | None, load: Callable[[], WebSettings], first: WebSettings
    ) -> None:
        self._file = Path(path).absolute() if path else None
        self._load = load
        self._settings = first
        self._digest = b"" if self._file is None else _digest(self._file)
        self._failed: tuple[bytes, str] | None = None  # a digest that did not load, and why
        self._warned = ""
        self._lock = threading.Lock()

    def current(self) -> WebSettings | None:
        """The settings for a request now; None (one warning per problem) while the file
        does not load."""
        if self._file is None:
            return self._settings
        try:
            digest = fingerprint((self._file,))
        except TLSFilesError as err:
            self._refuse(f"web config: {err}")
            return None
        with self._lock:
            if digest == self._digest:
                return self._settings
            if self._failed is not None and self._failed[0] == digest:
                self._refuse(self._failed[1])
                return None
            try:
                settings = self._load()
            except ConfigError as err:
                problems = str(err).splitlines()
                self._failed = (digest, f"web config changed: {'; '.join(problems)}")
                self._refuse(self._failed[1])
                return None
            if (settings.tls is None) != (self._settings.tls is None):
                self._digest = digest  # seen: the old settings go on until the next change
                self._warn("web config changed: switching TLS needs a restart; serving as before")
                return self._settings
            self._settings, self._digest, self._failed, self._warned = settings, digest, None, ""
        log.info("web config changed: now %s", settings.description)
        for warning in settings.warnings:
            log.warning("%s", warning)
        return settings

    def _refuse(self, problem: str) -> None:
        self._warn(f"{problem}; requests are refused until it loads")

    def _warn(self, message: str) -> None:
        if message != self._warned:
            self._warned = message
            log.warning("%s", message)


def _digest(path: Path) -> bytes:
    try:
        return fingerprint((path,))
    except TLSFilesError:
        return b""  # it loaded a moment ago: the first request tries again
