"""TLS contexts that follow their certificate files: built when the config is read (a wrong
file stops the start with its YAML line), and built again from the same section when a file
changes, so a certificate renewed in place (cert-manager, an ACME client) or a rotated CA
needs no restart.

The files are small and read whole for each check (a connection the server accepts, a
request the sidecar sends), as Prometheus' client and the exporter-toolkit do; their bytes,
not their modification times, tell a change, so a renewal within the same second is seen.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from servicekit.errors import LLMscopeError
from servicekit.yamlconf import Reader, join_path

log = logging.getLogger("llmscope.web")

Build = Callable[[Reader], ssl.SSLContext | None]  # None: the problems are in the reader


class TLSFilesError(LLMscopeError):
    """The TLS files changed and no longer make a context (or cannot be read)."""


@dataclass(eq=False)
class ReloadingContext:
    """The context of one TLS section, as its files are now."""

    build: Build = field(repr=False)
    source: str  # the config file, for messages
    section: str  # tls_config, tls_server_config
    files: tuple[Path, ...]
    _seen: tuple[bytes, ...] = field(repr=False)
    _context: ssl.SSLContext = field(repr=False)
    _reported: str = field(default="", repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def context(self) -> ssl.SSLContext:
        """The same context while the files are unchanged, a new one once they changed;
        TLSFilesError when they cannot be read or do not load together."""
        seen = contents(self.files)
        with self._lock:
            if seen != self._seen:
                reader = Reader(self.source)
                context = self.build(reader)
                if context is None:
                    problem = reader.problems[0] if reader.problems else "cannot be loaded"
                    raise TLSFilesError(f"{self.section} changed: {problem}")
                self._context, self._seen = context, seen
            return self._context

    def current(self) -> ssl.SSLContext:
        """For a server: ``context()``, or where the new files do not load (a certificate
        written before its key), the last context that did, with one warning per problem,
        rather than refusing every scrape until the files agree."""
        last = self._context
        try:
            context = self.context()
        except TLSFilesError as err:
            if str(err) != self._reported:
                self._reported = str(err)
                log.warning("%s; new connections keep the certificate loaded before", err)
            return last
        if context is not last:
            self._reported = ""
            log.info("%s files changed: new connections use them", self.section)
        return context


def reloading(
    reader: Reader, build: Build, node: yaml.Node | None, section: str, files: Iterable[Path]
) -> ReloadingContext | None:
    """The section's context, built now (its problems reported to ``reader``: None)."""
    context = build(reader)
    if context is None:
        return None
    paths = tuple(files)
    try:
        seen = contents(paths)
    except TLSFilesError as err:  # gone between loading and here
        reader.fail(node, section, str(err))
        return None
    return ReloadingContext(build, reader.source, section, paths, seen, context)


def named_files(
    reader: Reader, keys: Mapping[str, yaml.Node], names: Iterable[str], base: Path, section: str
) -> list[Path]:
    """The files a section names under ``names``, resolved against ``base``."""
    out = []
    for key in names:
        if key in keys:
            name = reader.string(keys[key], join_path(section, key))
            if name is not None:
                out.append((base / name).absolute())  # the working directory may change
    return out


def contents(files: tuple[Path, ...]) -> tuple[bytes, ...]:
    """The files' bytes (a few kilobytes); TLSFilesError naming one that cannot be read."""
    out = []
    for path in files:
        try:
            out.append(path.read_bytes())
        except OSError as err:
            reason = err.strerror or type(err).__name__
            raise TLSFilesError(f'cannot read "{path}": {reason}') from None
    return tuple(out)
