"""``--web.config.file`` followed as it changes, as exporter-toolkit reads it for every request:
a basic-auth user added or removed, a password hash or a response header changed, takes effect
at the next request, with no restart.

The file is hashed at each request (it is small) and loaded again only when its bytes
change. A file that no longer loads fails requests with 500 (and TLS connections), as
exporter-toolkit does for a file it cannot parse, with one warning naming the problem, until
it loads again: serving on with the old users would keep letting in one who was removed.
Switching TLS on or off needs a restart (the listening socket speaks one or the other): the
new users and headers apply, the transport stays, with a warning.
"""

from __future__ import annotations

import dataclasses
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
        # Unknown: ``first`` was loaded before this was made, and the file may have changed
        # in between; the first request loads it again (quietly, when nothing changed).
        self._digest = b""
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
            self._warn(f"web config: {err}; requests are refused until it loads")
            return None
        # Loaded under the lock: a request waits for a reload rather than pass with users
        # that may just have been removed.
        with self._lock:
            if digest == self._digest:
                return self._settings
            if self._failed is not None and self._failed[0] == digest:
                return None
            try:
                settings = self._load()
            except Exception as err:  # ConfigError, or what PyYAML raised (a deep nesting)
                problems = (
                    str(err).splitlines()
                    if isinstance(err, ConfigError)
                    else [f"cannot be loaded ({type(err).__name__})"]  # no text: it may quote
                )
                self._failed = (digest, f"web config changed: {'; '.join(problems)}")
                self._warn(f"{self._failed[1]}; requests are refused until it loads")
                return None
            before, first = self._settings, not self._digest
            if (settings.tls is None) != (before.tls is None):
                # The port speaks one or the other: users and headers apply, TLS does not.
                settings = dataclasses.replace(settings, tls=before.tls)
                self._warn(
                    f"web config changed: switching TLS needs a restart ({digest.hex()[:8]})"
                )
            self._settings, self._digest, self._failed = settings, digest, None
        if before.auth is not None and settings.auth is None:
            log.warning("web config changed: no authentication any more (%s)", settings.description)
        elif not first:
            log.info("web config changed: now %s", settings.description)
        if not first:
            for warning in settings.warnings:
                log.warning("%s", warning)
        return settings

    def _warn(self, message: str) -> None:
        if message != self._warned:
            self._warned = message
            log.warning("%s", message)
